/**
 * Faces in photos: Haar detection (`detect.ts`), the project's CNN detector (`cnn_detector.ts`), detectors
 * by name and one after another (`detectors_io.ts`), crop → model → keypoints in photo pixels
 * (`predict_io.ts`), following faces between frames (`track.ts`) and smoothing them over time
 * (`smoothing.ts`).
 *
 * @module
 */
export * from "./types.ts";
export * from "./detect.ts";
export * from "./detect_io.ts";
export * from "./cnn_detector.ts";
export * from "./cnn_detector_io.ts";
export * from "./detectors_io.ts";
export * from "./predict_io.ts";
export {
  FaceTracker,
  MEAN_FACE,
  meanFaceInCrop,
  meanFacePredictor,
  type TrackedFace,
  type TrackedFrame,
  type TrackerHooks,
  type TrackerOptions,
} from "./track.ts";
export * from "./smoothing.ts";
