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
import type { KeypointDataset } from "../data/types.ts";

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
  /** The dataset `data` names, already loaded (as training loaded it, `--limit` included); else loaded. */
  dataset?: KeypointDataset;
}

/** The pooled convention of every training face. */
export const ALL_PARTS = "all";

/**
 * The fewest training faces a convention is measured on. Measured on the bundled model (README,
 * "Annotation conventions"): offsets from 50 random training faces of ytf68, HELEN or LFPW lowered the
 * validation RMSE and NME in each of 10 draws, from 25 faces HELEN's worst draw was slightly worse than
 * none.
 */
export const MIN_CONVENTION_FACES = 50;

/**
 * Measures the model's conventions and saves them as `calibration` in its `metadata.json` (atomically;
 * the weights are not touched, and a calibration already there is replaced). Returns what was written;
 * undefined, writing nothing, when the default is left to `all` and the data has fewer than
 * {@link MIN_CONVENTION_FACES} training faces. A part with fewer has no convention of its own.
 *
 * @throws {UsageError} when the default names a part the data does not have or too few faces, or the
 *   model's metadata records no training split.
 */
export async function calibrateModel(dir: string, opts: CalibrateOptions): Promise<Calibration | undefined> {
  const folder = await resolveModelDir(dir);
  const model = await loadKeypointModel(folder, { convention: NO_CONVENTION });
  try {
    const ds = opts.dataset ?? await loadDataset(opts.data, { cacheDir: opts.cacheDir ?? DATASET_CACHE_DIR });
    const train = splitLikeTraining(ds, model.metadata, "training");
    const parts = facePartNames(train, opts.data);
    const asked = opts.defaultConvention ?? ALL_PARTS;
    const [name, list] = asked.includes("=") ? asked.split("=", 2) : [asked, asked];
    if (!name || !list) throw new UsageError(`--default: expected NAME=PART+PART, got "${asked}"`);
    const pooled = new Set(list === ALL_PARTS ? parts : list.split("+"));
    const known = new Set(parts);
    for (const p of pooled) {
      if (!known.has(p)) {
        throw new UsageError(
          `--default: the training data has no part "${p}" (its parts: ${[...known].join(", ")})`,
        );
      }
    }
    const pooledFaces = parts.filter((p) => pooled.has(p)).length;
    if (pooledFaces < MIN_CONVENTION_FACES) {
      if (opts.defaultConvention === undefined) return undefined;
      throw new UsageError(
        `--default: ${pooledFaces} training faces in ${list}, a convention needs at least ${MIN_CONVENTION_FACES}`,
      );
    }
    const flip = opts.flip ?? true;
    const pred = flip
      ? await predictWithFlipTta(model, train.images, train.n)
      : await model.predict(train.images, train.n);
    const perPart = measureConventions(pred, train.keypoints, parts);
    // A part with too few faces has no convention of its own: it gets the default.
    const conventions = Object.fromEntries(
      Object.entries(perPart).filter(([, c]) => c.faces >= MIN_CONVENTION_FACES).map((
        [p, c],
      ) => [p, c.offsets]),
    );
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
