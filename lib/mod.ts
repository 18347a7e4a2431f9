/**
 * facial-keypoints: the typed library behind the notebooks and the `deno task` commands.
 *
 * - data: one {@link KeypointDataset} form; Kaggle CSV, 68-landmark and 300-W readers; the synthetic
 *   default; crops; splits; dataset names (`./data/mod.ts`)
 * - augmentation and face grids (`./augment.ts`, `./draw.ts`)
 * - backends and the wasm training kernels (`./backend.ts`, `./train_step.ts`)
 * - models, training, evaluation (`./models/mod.ts`, `./train.ts`, `./evaluate.ts`, `./progress.ts`)
 * - faces in photos and videos (`./detect.ts`, `./predict.ts`, `./annotate.ts`, `./end_to_end.ts`,
 *   `./video.ts`, `./track.ts`, `./smoothing.ts`)
 * - figures (`./plot.ts`); notebook set-up (`./notebook.ts`) is imported by the notebooks directly.
 *
 * @example
 * ```ts
 * import { createModel, initBackend, loadDataset, train } from "./lib/mod.ts";
 * await initBackend();
 * const ds = await loadDataset("synthetic:500");
 * const result = await train(ds, { model: "lenet", epochs: 2 });
 * ```
 *
 * @module
 */
export * from "./constants.ts";
export * from "./errors.ts";
export * from "./rng.ts";
export * from "./data/mod.ts";
export * from "./image_io.ts";
export * from "./augment.ts";
export * from "./draw.ts";
export * from "./backend.ts";
export * from "./train_step.ts";
export * from "./models/mod.ts";
export * from "./train.ts";
export * from "./evaluate.ts";
export * from "./progress.ts";
export * from "./detect.ts";
export * from "./predict.ts";
export * from "./annotate.ts";
export * from "./end_to_end.ts";
export * from "./video.ts";
export * from "./track.ts";
export * from "./smoothing.ts";
export * from "./plot.ts";
