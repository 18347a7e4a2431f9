/**
 * The keypoint models: LeNet, the thesis's compact ResNet and ResNet-50 behind one factory, their target
 * normalisation, and model folders on disk.
 *
 * @example
 * ```ts
 * import { createModel, DEFAULT_MODEL_DIR, loadKeypointModel } from "./mod.ts";
 * const model = createModel("lenet", { seed: 0 }); // a fresh tf.LayersModel
 * const trained = await loadKeypointModel(DEFAULT_MODEL_DIR); // a saved one, predicting in pixels
 * ```
 *
 * @module
 */
export * from "./registry.ts";
export * from "./normalise.ts";
export * from "./keypoint_model.ts";
export * from "./folder_io.ts";
export { resolveModelDir } from "./artifacts_io.ts";
export type { KeypointPredictor } from "./types.ts";
