/**
 * The data layer: one {@link KeypointDataset} form, its readers (Kaggle CSV, 68-landmark folders, the
 * synthetic default), face crops, splits, and one way to name a dataset.
 *
 * @example
 * ```ts
 * import { describeDataset, groupSplit, loadDataset } from "./mod.ts";
 * const ds = await loadDataset("synthetic:1000");
 * const { train, validation } = groupSplit(ds, { validation: 0.2, seed: 0 });
 * console.log(describeDataset(train));
 * ```
 *
 * @module
 */
export type { CropSource, KeypointDataset } from "./types.ts";
export * from "./dataset.ts";
export {
  type KaggleLabels,
  readKaggleCsv,
  readKaggleLabels,
  type ReadKaggleOptions,
  writeKaggleCsv,
  writeSubmission,
} from "./kaggle_io.ts";
export {
  type Landmarks68Options,
  type Landmarks68Split,
  landmarks68ToKaggle15,
  readLandmarks68Folder,
  readPtsFolder,
} from "./landmarks68_io.ts";
export * from "./crop.ts";
export * from "./crop_io.ts";
export * from "./synthetic.ts";
export * from "./split.ts";
export * from "./spec_io.ts";
