/**
 * How many training faces an annotation convention needs (`deno task calibrate`, `MIN_CONVENTION_FACES`):
 * for each part, the offsets measured on a random 25, 50, 100 or 300 of its training faces (ten draws each)
 * against all of them, scored on that part's validation faces (RMSE and NME with flip TTA, the mean and the
 * worst draw), and the part without a convention.
 *
 * Model: `FKD_CALIBRATION_MODEL` (default the bundled `outputs/models/default`, predicting without its own
 * calibration); data: `FKD_CALIBRATION_DATA` (default `../shared/data/ytf68+../shared/data/300w`, the data
 * the model was trained on: its split is re-made from its metadata). Run: `deno task bench calibration`.
 *
 * @module
 */
import { DATASET_CACHE_DIR } from "../lib/data/dataset_cache_io.ts";
import { missingParts } from "./missing_data.ts";
import { facePartNames, loadDataset } from "../lib/data/spec_io.ts";
import { subset } from "../lib/data/dataset.ts";
import { splitLikeTraining } from "../lib/train/train_io.ts";
import { DEFAULT_MODEL_DIR, loadKeypointModel } from "../lib/models/folder_io.ts";
import { evaluate, type Metrics, predictWithFlipTta } from "../lib/evaluate/metrics.ts";
import { addOffsets, measureConventions, NO_CONVENTION } from "../lib/models/calibration.ts";
import { initBackend } from "../lib/backend_io.ts";
import { Rng } from "../lib/core/rng.ts";

const MODEL = Deno.env.get("FKD_CALIBRATION_MODEL") ?? DEFAULT_MODEL_DIR;
const DATA = Deno.env.get("FKD_CALIBRATION_DATA") ?? "../shared/data/ytf68+../shared/data/300w";
const SIZES = [25, 50, 100, 300];
const DRAWS = 10;

export async function run(): Promise<string> {
  const missing = missingParts(DATA);
  if (missing.length > 0) return `skipped: no ${missing.join(", ")} (set FKD_CALIBRATION_DATA)`;
  await initBackend();
  const model = await loadKeypointModel(MODEL, { convention: NO_CONVENTION });
  const ds = await loadDataset(DATA, { cacheDir: DATASET_CACHE_DIR });
  const sets = {
    train: splitLikeTraining(ds, model.metadata, "training"),
    val: splitLikeTraining(ds, model.metadata, "validation"),
  };
  const parts = { train: facePartNames(sets.train, DATA), val: facePartNames(sets.val, DATA) };
  const trainPred = await predictWithFlipTta(model, sets.train.images, sets.train.n);
  const valPred = await predictWithFlipTta(model, sets.val.images, sets.val.n);
  model.model.dispose();
  const rows = [
    `| part | validation faces | no convention | ${
      SIZES.map((k) => `${k} faces: mean (worst)`).join(" | ")
    } | all training faces |`,
    `|---|---:|---:|${SIZES.map(() => "---:").join("|")}|---:|`,
  ];
  const cell = (m: { rmse_px: number; nme: number }) =>
    `${m.rmse_px.toFixed(3)} px, ${(100 * m.nme).toFixed(2)} %`;
  for (const part of new Set(parts.train)) {
    const ti = parts.train.flatMap((p, i) => p === part ? [i] : []);
    const vi = parts.val.flatMap((p, i) => p === part ? [i] : []);
    if (vi.length === 0) continue;
    const pick = (a: Float32Array, idx: number[]) => {
      const out = new Float32Array(idx.length * 30);
      idx.forEach((i, k) => out.set(a.subarray(i * 30, i * 30 + 30), k * 30));
      return out;
    };
    const val = subset(sets.val, vi), vp = pick(valPred, vi);
    const scored = (faces: number[]) => {
      const offsets = measureConventions(
        pick(trainPred, faces),
        pick(sets.train.keypoints, faces),
        faces.map(() => part),
      )[part].offsets;
      return evaluate(addOffsets(vp.slice(), offsets), val.keypoints);
    };
    const cells = SIZES.filter((k) => k < ti.length).map((k) => {
      const runs = Array.from({ length: DRAWS }, (_, d) => {
        const rng = new Rng(d + 1);
        return scored([...ti].sort(() => rng.uniform(-1, 1)).slice(0, k));
      });
      const mean = (f: (m: Metrics) => number) => runs.reduce((a, m) => a + f(m), 0) / runs.length;
      const worst = runs.reduce((a, m) => m.rmse_px > a.rmse_px ? m : a);
      return `${cell({ rmse_px: mean((m) => m.rmse_px), nme: mean((m) => m.nme) })} (${cell(worst)})`;
    });
    while (cells.length < SIZES.length) cells.push("–");
    rows.push(
      `| ${part} (${ti.length} training) | ${vi.length} | ${cell(evaluate(vp, val.keypoints))} | ${
        cells.join(" | ")
      } | ${cell(scored(ti))} |`,
    );
  }
  return rows.join("\n");
}
