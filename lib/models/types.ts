/**
 * What the rest of the library needs from a keypoint model, independent of how it was built or loaded.
 *
 * @module
 */

/** Anything that maps 96×96 grayscale faces to 15 keypoints in 96×96 pixels. */
export interface KeypointPredictor {
  /** Model name for reports, e.g. `"lenet"`. */
  readonly name: string;
  /**
   * Predicts keypoints for `n` faces.
   * @param images `n × 96 × 96` pixels in [0, 1].
   * @returns `n × 30` coordinates in 96×96 pixels, Kaggle column order.
   */
  predict(images: Float32Array, n: number): Promise<Float32Array>;
  /**
   * The offsets `predict` adds to the network's output (an annotation convention, `calibration.ts`), so
   * that flip test-time augmentation can map a mirrored prediction back (`mirroredBack`); none by default.
   */
  readonly offsets?: Float32Array;
}
