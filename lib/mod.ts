/**
 * facial-keypoints: the typed library behind the notebooks and the `deno task` commands. One folder per
 * step of the data flow, each with a `mod.ts`:
 *
 * - `core/`: keypoint names and side table, errors, seeded random numbers, image files in and out
 * - `data/`: one {@link KeypointDataset} form; Kaggle CSV, 68-landmark and 300-W readers; the synthetic
 *   default; crops; splits; dataset names
 * - `augment/`: keypoint-aware augmentation
 * - `models/`: LeNet, the thesis ResNet and ResNet-50 behind one factory; model folders
 * - `train/`: the training loop, one gradient step, checkpoints, progress displays
 * - `evaluate/`: metrics on crops, end to end on photos
 * - `face/`: detection, crop → model → keypoints in photo pixels, tracking, smoothing
 * - `video/`: video files through FFmpeg
 * - `viz/`: face grids, annotated photos, plotly figures
 * - `backend_io.ts` and `kernels/`: the tfjs backend for Deno (webgpu → wasm → cpu) and the wasm kernels
 *
 * A module whose name ends in `_io.ts` reads or writes files, starts processes or uses native code (sharp,
 * `node:`, `Deno.*`); every other module runs anywhere, a browser included (`deno task test` type-checks
 * them for the browser). Notebook set-up (`./notebook.ts`) is imported by the notebooks directly.
 *
 * @example
 * ```ts
 * import { initBackend, loadDataset, train } from "./mod.ts";
 * await initBackend();
 * const ds = await loadDataset("synthetic:500");
 * const result = await train(ds, { model: "lenet", epochs: 2 });
 * ```
 *
 * @module
 */
export * from "./core/mod.ts";
export * from "./data/mod.ts";
export * from "./augment/mod.ts";
export * from "./backend_io.ts";
export * from "./models/mod.ts";
export * from "./train/mod.ts";
export * from "./evaluate/mod.ts";
export * from "./face/mod.ts";
export * from "./video/mod.ts";
export * from "./viz/mod.ts";
