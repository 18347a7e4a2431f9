/**
 * What the face step produces: a face's box and its 15 named keypoints in the photo's pixels, and the one
 * JSON form of a face that `deno task predict --json` prints for photos and video frames alike.
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

/** A face as `--json` prints it: box and keypoints rounded to 0.01 px, plus the track fields on video. */
export interface FaceJson {
  box: number[];
  keypoints: Record<string, [number, number]>;
  track?: number;
  detected?: boolean;
}

/** The JSON form of a face (see {@link FaceJson}); `track` and `detected` where the face has them. */
export function faceJson(face: PredictedFace & { track?: number; detected?: boolean }): FaceJson {
  const r2 = (v: number) => Math.round(v * 100) / 100;
  return {
    box: face.box.map(r2),
    keypoints: Object.fromEntries(Object.entries(face.keypoints).map(([k, [x, y]]) => [k, [r2(x), r2(y)]])),
    ...(face.track !== undefined ? { track: face.track, detected: face.detected } : {}),
  };
}
