/**
 * What the face step produces: a face's box and its 15 named keypoints in the photo's pixels.
 *
 * @module
 */
import type { KeypointName } from "../core/constants.ts";

/** One face found in a photo: the detector's box and the 15 keypoints, in the photo's pixels. */
export interface PredictedFace {
  /** Detection box `[x, y, width, height]` (top-left pixel and size). */
  box: [number, number, number, number];
  /** Each keypoint as `[x, y]`; the centre of the photo's top-left pixel is (0, 0). */
  keypoints: Record<KeypointName, [number, number]>;
}
