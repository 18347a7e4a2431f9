/**
 * facial-keypoints: the typed library behind the notebooks and the `deno task` commands.
 *
 * - data: one {@link KeypointDataset} form; Kaggle CSV, 68-landmark and 300-W readers; the synthetic
 *   default; crops; splits; dataset names (`./data/mod.ts`)
 * - augmentation and face grids (`./augment/augment.ts`, `./viz/draw.ts`)
 * - backends and the wasm training kernels (`./backend_io.ts`, `./train/train_step.ts`)
 * - models, training, evaluation (`./models/mod.ts`, `./train/train_io.ts`, `./evaluate/metrics.ts`, `./train/progress_io.ts`)
 * - faces in photos and videos (`./face/detect.ts`, `./face/predict_io.ts`, `./viz/annotate.ts`, `./evaluate/end_to_end_io.ts`,
 *   `./video/ffmpeg_io.ts`, `./face/track.ts`, `./face/smoothing.ts`)
 * - figures (`./viz/figures.ts`); notebook set-up (`./notebook.ts`) is imported by the notebooks directly.
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
export * from "./core/constants.ts";
export * from "./core/errors.ts";
export * from "./core/rng.ts";
export * from "./data/mod.ts";
export * from "./core/image_io.ts";
export * from "./augment/augment.ts";
export * from "./viz/draw.ts";
export * from "./backend_io.ts";
export * from "./train/train_step.ts";
export * from "./models/mod.ts";
export * from "./train/train_io.ts";
export * from "./evaluate/metrics.ts";
export * from "./train/progress_io.ts";
export * from "./face/detect.ts";
export * from "./face/predict_io.ts";
export * from "./viz/annotate.ts";
export * from "./evaluate/end_to_end_io.ts";
export * from "./video/ffmpeg_io.ts";
export * from "./face/track.ts";
export * from "./face/smoothing.ts";
export * from "./viz/figures.ts";
