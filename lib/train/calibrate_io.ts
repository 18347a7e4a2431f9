/**
 * `deno task calibrate`: measures a trained model's annotation conventions (`lib/models/calibration.ts`)
 * on the training split of its data, re-made from its metadata, and writes them into its `metadata.json`.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic_io.ts";
import { UsageError } from "../core/errors.ts";
import { DATASET_CACHE_DIR } from "../data/dataset_cache_io.ts";
import { facePartNames, loadDataset } from "../data/spec_io.ts";
import { predictWithFlipTta } from "../evaluate/metrics.ts";
import { type Calibration, measureConventions, NO_CONVENTION } from "../models/calibration.ts";
import { loadKeypointModel } from "../models/folder_io.ts";
import { METADATA_JSON } from "../models/keypoint_model.ts";
import { resolveModelDir } from "../models/artifacts_io.ts";
import { splitLikeTraining } from "./train_io.ts";

/** Options of {@link calibrateModel}. */
export interface CalibrateOptions {
  /** The dataset the model was trained on (its training split is re-made from the metadata). */
  data: string;
  /**
   * The convention used where the data's part has none: one part, several joined by `+` (their faces
   * pooled; `NAME=A+B` names the pooled convention), or `all` (every training face; the default).
   */
  defaultConvention?: string;
  /** Measure with flip test-time augmentation, as `predict` and `evaluate` predict (default true). */
  flip?: boolean;
  /** Crop cache folder (default `outputs/cache/datasets`). */
  cacheDir?: string;
}

/** The pooled convention of every training face. */
export const ALL_PARTS = "all";

/**
 * Measures the model's conventions and saves them as `calibration` in its `metadata.json` (atomically;
 * the weights are not touched, and a calibration already there is replaced). Returns what was written.
 *
 * @throws {UsageError} when the default names a part the data does not have, or the model's metadata
 *   records no training split.
 */
export async function calibrateModel(dir: string, opts: CalibrateOptions): Promise<Calibration> {
  const folder = await resolveModelDir(dir);
  const model = await loadKeypointModel(folder, { convention: NO_CONVENTION });
  try {
    const ds = await loadDataset(opts.data, { cacheDir: opts.cacheDir ?? DATASET_CACHE_DIR });
    const train = splitLikeTraining(ds, model.metadata, "training");
    const parts = facePartNames(train, opts.data);
    const flip = opts.flip ?? true;
    const pred = flip
      ? await predictWithFlipTta(model, train.images, train.n)
      : await model.predict(train.images, train.n);
    const perPart = measureConventions(pred, train.keypoints, parts);
    const asked = opts.defaultConvention ?? ALL_PARTS;
    const [name, list] = asked.includes("=") ? asked.split("=", 2) : [asked, asked];
    if (!name || !list) throw new UsageError(`--default: expected NAME=PART+PART, got "${asked}"`);
    const pooled = list === ALL_PARTS ? new Set(parts) : new Set(list.split("+"));
    for (const p of pooled) {
      if (!(p in perPart)) {
        throw new UsageError(
          `--default: the training data has no part "${p}" (its parts: ${Object.keys(perPart).join(", ")})`,
        );
      }
    }
    const conventions = Object.fromEntries(Object.entries(perPart).map(([p, c]) => [p, c.offsets]));
    if (!(name in conventions)) {
      // The pooled faces as one group; the others in a group that is dropped.
      const groups = parts.map((p) => pooled.has(p) ? name : "");
      conventions[name] = measureConventions(pred, train.keypoints, groups)[name].offsets;
    }
    const calibration: Calibration = {
      conventions,
      default: name,
      measured: {
        data: opts.data,
        split: "training",
        faces: Object.fromEntries(Object.entries(perPart).map(([p, c]) => [p, c.faces])),
        flip,
        at: new Date().toISOString(),
      },
    };
    const metadata = { ...model.metadata, calibration };
    await writeFileAtomic(join(folder, METADATA_JSON), JSON.stringify(metadata, null, 2) + "\n");
    return calibration;
  } finally {
    model.model.dispose();
  }
}
