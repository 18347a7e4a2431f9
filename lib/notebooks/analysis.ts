/**
 * What the notebooks compute, kept out of their cells so that it is typed and tested (the pure part; the
 * parts that train, read model folders or photos are in `runs_io.ts`): the best and worst predictions, a
 * comparison of models on one set of faces, the cost of an epoch, which photos to evaluate end to end, and
 * which models the notebooks train.
 *
 * @example
 * ```ts
 * import { keypointErrors } from "../viz/figures.ts";
 * import { syntheticDataset } from "../data/synthetic.ts";
 * const truth = syntheticDataset({ n: 20 });
 * const pred = truth.keypoints.map((v, i) => v + (i % 7) / 3); // stand-in predictions
 * const { best, worst } = bestAndWorst(keypointErrors(pred, truth.keypoints, truth.n).perFace, 6);
 * ```
 *
 * @module
 */
import type { KeypointDataset } from "../data/types.ts";
import { UsageError } from "../core/errors.ts";
import { evaluate, type Metrics } from "../evaluate/metrics.ts";
import type { KeypointModel } from "../models/keypoint_model.ts";
import { keypointErrors } from "../viz/figures.ts";

/**
 * Indices of the `k` faces with the smallest mean keypoint error (best first) and the `k` with the
 * largest (worst first); faces without a finite error are left out, and a face is never in both lists.
 */
export function bestAndWorst(perFace: ArrayLike<number>, k: number): { best: number[]; worst: number[] } {
  if (!(Number.isInteger(k) && k >= 0)) {
    throw new UsageError(`bestAndWorst: k must be an integer ≥ 0, got ${k}`);
  }
  const order = Array.from({ length: perFace.length }, (_, i) => i)
    .filter((i) => Number.isFinite(perFace[i]))
    .sort((a, b) => perFace[a] - perFace[b] || a - b);
  const best = order.slice(0, Math.min(k, order.length));
  const worst = order.slice(Math.max(best.length, order.length - k)).reverse();
  return { best, worst };
}

/** One model's results on a set of faces, as the comparison shows them. */
export interface ModelRun {
  name: string;
  /** `n × 30` predicted coordinates in pixels. */
  predicted: Float32Array;
  metrics: Metrics;
  /** Mean keypoint error of each face (px), NaN where the face has no labelled keypoint. */
  errors: Float32Array;
  /** Inference throughput over the whole set (batches of 64). */
  imagesPerSec: number;
  params: number;
}

/** Runs every model on the same faces: predictions, metrics, per-face errors, speed and size. */
export async function compareModels(
  models: readonly KeypointModel[],
  faces: Pick<KeypointDataset, "n" | "images" | "keypoints">,
): Promise<ModelRun[]> {
  if (faces.n === 0) throw new UsageError("compareModels: no faces to compare on");
  const runs: ModelRun[] = [];
  for (const m of models) {
    const start = performance.now();
    const predicted = await m.predict(faces.images, faces.n);
    const seconds = (performance.now() - start) / 1000;
    runs.push({
      name: m.name,
      predicted,
      metrics: evaluate(predicted, faces.keypoints),
      errors: keypointErrors(predicted, faces.keypoints, faces.n).perFace,
      imagesPerSec: faces.n / Math.max(seconds, 1e-9),
      params: m.model.countParams(),
    });
  }
  return runs;
}

/** The cost of one epoch from a measured training speed. */
export interface EpochCost {
  imagesPerSec: number;
  trainFaces: number;
  secondsPerEpoch: number;
}

/** Seconds per epoch of `trainFaces` faces at `imagesPerSec` (training throughput). */
export function epochCost(imagesPerSec: number, trainFaces: number): EpochCost {
  if (!(imagesPerSec > 0)) {
    throw new UsageError(`epochCost: images per second must be > 0, got ${imagesPerSec}`);
  }
  if (!(Number.isInteger(trainFaces) && trainFaces >= 0)) {
    throw new UsageError(`epochCost: training faces must be an integer ≥ 0, got ${trainFaces}`);
  }
  return { imagesPerSec, trainFaces, secondsPerEpoch: trainFaces / imagesPerSec };
}

/** "42 s", "12 min", "3.4 h": a duration at the precision an estimate deserves. */
export function roughDuration(seconds: number): string {
  if (seconds < 90) return `${seconds.toFixed(0)} s`;
  if (seconds < 90 * 60) return `${(seconds / 60).toFixed(0)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/**
 * Held-out photos for the end-to-end evaluation: `FKD_E2E_DATA` where set; else the `:test` split of the
 * notebook's 68-landmark dataset; else the first of `fallbacks` that exists (the 300-W test photos beside
 * the checkout); null where there is none.
 */
export function heldOutPhotosSpec(
  spec: string,
  env: { FKD_E2E_DATA?: string },
  fallbacks: readonly string[],
  exists: (path: string) => boolean,
): string | null {
  if (env.FKD_E2E_DATA?.trim()) return env.FKD_E2E_DATA.trim();
  const folder = spec.replace(/:(training|test)$/, "");
  if (!spec.startsWith("synthetic") && exists(`${folder}/test_frames_keypoints.csv`)) return `${folder}:test`;
  for (const f of fallbacks) {
    if (exists(`${f.replace(/:(training|test)$/, "")}/test_frames_keypoints.csv`)) return f;
  }
  return null;
}

/** The end-to-end summary of one model on a set of photos (`EndToEndReport` of `lib/end_to_end.ts`). */
export interface EndToEndSummary {
  n: number;
  detected: number;
  nme: number;
  failure_rate_10: number;
  ms_per_image: number;
  /** The same per dataset part, where the photos come from several. */
  parts?: Record<string, Omit<EndToEndSummary, "parts">>;
}

/** One model's end-to-end results with each photo's NME (NaN where the face was missed). */
export interface EndToEndRun {
  name: string;
  report: EndToEndSummary;
  nme: Float32Array;
}

/** Markdown table of end-to-end runs (`compareEndToEnd` in `runs_io.ts`). */
export function endToEndComparisonTable(runs: readonly EndToEndRun[]): string {
  const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)} %` : "–");
  const row = (name: string, part: string, r: Omit<EndToEndSummary, "parts">) =>
    `| ${name} | ${part} | ${r.n} | ${r.detected} (${pct(r.detected / r.n)}) | ${
      Number.isFinite(r.nme) ? r.nme.toFixed(4) : "–"
    } | ${pct(r.failure_rate_10)} | ${r.ms_per_image.toFixed(1)} ms |`;
  // Each model's total, then its parts (a ytf68 person, an AFW photo, … scored apart).
  const rows = runs.flatMap(({ name, report: r }) => [
    row(name, r.parts ? "all" : "", r),
    ...Object.entries(r.parts ?? {}).map(([part, p]) => row("", part, p)),
  ]);
  return [
    "| model | part | photos | detected | NME | failure rate (NME > 0.10 or missed) | time per photo |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
  ].join("\n");
}

/**
 * The two models the notebooks train and compare: notebook 03 the first, 04 the second, 05 both.
 * `FKD_MODELS=lenet,resnet18-slim` names others (any two of the model registry); else `lenet` and
 * `thesis-resnet`, with `FKD_RESNET50=1` the full ResNet-50 as the second.
 */
export function notebookModels(env: { FKD_MODELS?: string; FKD_RESNET50?: string }): [string, string] {
  const named = env.FKD_MODELS?.split(",").map((s) => s.trim()).filter(Boolean);
  if (named && named.length) {
    if (named.length !== 2) {
      throw new UsageError(`FKD_MODELS needs two model names separated by a comma, got "${env.FKD_MODELS}"`);
    }
    return [named[0], named[1]];
  }
  return ["lenet", env.FKD_RESNET50?.trim() === "1" ? "resnet50" : "thesis-resnet"];
}
