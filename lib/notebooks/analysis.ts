/**
 * What the notebooks compute, kept out of their cells so that it is typed and tested: the best and worst
 * predictions, a comparison of models on one set, the cost of an epoch, the validation split a model was
 * trained with (from its metadata), and a training run that continues its run folder.
 *
 * @example
 * ```ts
 * const { best, worst } = bestAndWorst(keypointErrors(pred, truth, n).perFace, 6);
 * const validation = validationSplitOf(ds, model.metadata);
 * ```
 *
 * @module
 */
import { readCheckpointState } from "../checkpoint.ts";
import { subset } from "../data/dataset.ts";
import type { KeypointDataset } from "../data/types.ts";
import { DataError, UsageError } from "../errors.ts";
import type { FaceDetector } from "../detect.ts";
import { type EndToEndImage, type EndToEndReport, evaluateEndToEnd } from "../end_to_end.ts";
import { comparisonTable, evaluate, type Metrics } from "../evaluate.ts";
import { type KeypointModel, type ModelMetadata, modelPredictor } from "../models/keypoint_model.ts";
import type { KeypointPredictor } from "../models/types.ts";
import { keypointErrors } from "../plot.ts";
import type { TrainProgress } from "../progress.ts";
import { prepareData, train, type TrainConfig, type TrainResult } from "../train.ts";

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
 * Measures training speed with a short run (`faces` faces, one epoch, no validation, no augmentation,
 * nothing written) and returns the epoch cost it implies for `trainFaces` faces.
 */
export async function measureEpochCost(
  ds: KeypointDataset,
  model: TrainConfig["model"],
  trainFaces: number,
  opts: { faces?: number; batchSize?: number } = {},
): Promise<EpochCost> {
  const faces = Math.min(opts.faces ?? 16, ds.n);
  if (faces === 0) throw new UsageError("measureEpochCost: the dataset has no faces");
  // No groups: a random split, so a few faces of one person are fine.
  const probe = { ...subset(ds, [...Array(faces).keys()]), groups: undefined };
  const run = await train(probe, {
    model,
    epochs: 1,
    batchSize: opts.batchSize ?? 8,
    validation: 0,
    augment: null,
  });
  run.model.dispose();
  return epochCost(run.history[0].images_per_sec, trainFaces);
}

/**
 * The validation faces a model was trained with: the split its metadata records (validation share, seed,
 * complete faces only), applied to `ds`. Throws `DataError` where the metadata has no training record or
 * where `ds` gives other sizes than the training saw (another dataset, or another subset of it).
 */
export function validationSplitOf(ds: KeypointDataset, metadata: ModelMetadata): KeypointDataset {
  const training = metadata.training as
    | { config?: Partial<TrainConfig>; data?: { train?: number; validation?: number; name?: string } }
    | undefined;
  const config = training?.config;
  if (!config || typeof config.validation !== "number" || typeof config.seed !== "number") {
    throw new DataError("the model's metadata records no training split (config.validation, config.seed)", {
      file: "metadata.json",
    });
  }
  const sets = prepareData(ds, {
    validation: config.validation,
    seed: config.seed,
    completeOnly: config.completeOnly ?? false,
  });
  const want = training?.data;
  if (want && (want.train !== sets.train.n || want.validation !== sets.validation.n)) {
    throw new DataError(
      `the model ${metadata.model} was trained on ${want.train}/${want.validation} faces (${want.name}), ` +
        `this dataset splits into ${sets.train.n}/${sets.validation.n} (${ds.name}): not the same data`,
      { file: "metadata.json" },
    );
  }
  return sets.validation;
}

/**
 * Trains in a run folder with `--resume` semantics: a run that is there is continued from its last
 * checkpoint, and a finished run (all its epochs, or stopped early) is shown as it is, without training
 * again. `fresh` starts over instead (the folder is replaced once the first epoch is done).
 */
export async function trainInRunFolder(
  ds: KeypointDataset,
  config: Partial<TrainConfig> & { out: string; model: TrainConfig["model"] },
  progress: TrainProgress = {},
  opts: { fresh?: boolean } = {},
): Promise<TrainResult> {
  if (opts.fresh) return await train(ds, { ...config, resume: false }, progress);
  const state = await readCheckpointState(config.out);
  if (state && state.model !== config.model) {
    throw new UsageError(
      `${config.out} holds a run of ${state.model}, not ${config.model}: remove it or use another folder`,
    );
  }
  // A run stopped early ends before its last epoch: asking for no more epochs loads it as it is.
  const epochs = state?.finished === "early-stopping" ? state.epoch : config.epochs;
  return await train(ds, { ...config, epochs, resume: true }, progress);
}

/** A model's predictions on held-out faces with each face's mean keypoint error. */
export interface HeldOutPredictions {
  /** The validation faces. */
  faces: KeypointDataset;
  /** How many faces the run trained on (the rest of the split). */
  trainFaces: number;
  predicted: Float32Array;
  /** Mean keypoint error per face (px), NaN where the face has no labelled keypoint. */
  errors: Float32Array;
}

/** Predicts the validation faces of a training result (the split the run used). */
export async function heldOutPredictions(
  ds: KeypointDataset,
  result: TrainResult,
): Promise<HeldOutPredictions> {
  const sets = prepareData(ds, result.config);
  const faces = sets.validation;
  if (faces.n === 0) throw new UsageError("the run has no validation faces to show (validation share 0)");
  const predicted = await modelPredictor(result.model, result.config.model).predict(faces.images, faces.n);
  const errors = keypointErrors(predicted, faces.keypoints, faces.n).perFace;
  return { faces, trainFaces: sets.train.n, predicted, errors };
}

/** Markdown: how a run ended (resumed, finished, stopped early), its validation metrics and its speed. */
export function trainingSummary(result: TrainResult, backend: string): string {
  const h = result.history;
  const perEpoch = h.reduce((a, r) => a + r.seconds, 0) / Math.max(1, h.length);
  const how = result.stoppedBy === "already finished"
    ? "a finished run, shown from its run folder (not trained again)"
    : result.resumedFrom !== null
    ? `continued from epoch ${result.resumedFrom} (${result.stoppedBy})`
    : `a fresh run (${result.stoppedBy})`;
  return [
    `**${result.config.model}**: best epoch ${result.bestEpoch} of ${h.length}; ${how}.`,
    comparisonTable([{ name: `${result.config.model} (validation)`, metrics: result.metrics }]),
    h.length
      ? `${perEpoch.toFixed(1)} s per epoch on ${backend} (${
        h.at(-1)!.images_per_sec.toFixed(1)
      } img/s training).`
      : "",
  ].filter(Boolean).join("\n\n");
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

/** One model's end-to-end results with each photo's NME (NaN where the face was missed). */
export interface EndToEndRun {
  name: string;
  report: EndToEndReport;
  nme: Float32Array;
}

/** Detect → crop → predict → compare for every model on the same photos (detection runs per model). */
export async function compareEndToEnd(
  detector: FaceDetector,
  models: readonly KeypointPredictor[],
  photos: Pick<KeypointDataset, "name" | "n" | "sources">,
): Promise<EndToEndRun[]> {
  const runs: EndToEndRun[] = [];
  for (const m of models) {
    const perImage: EndToEndImage[] = [];
    const report = await evaluateEndToEnd(detector, m, photos, { perImage });
    runs.push({ name: m.name, report, nme: Float32Array.from(perImage, (p) => p.nme) });
  }
  return runs;
}

/** Markdown table of {@link compareEndToEnd}'s runs. */
export function endToEndComparisonTable(runs: readonly EndToEndRun[]): string {
  const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)} %` : "–");
  const rows = runs.map(({ name, report: r }) =>
    `| ${name} | ${r.n} | ${r.detected} (${pct(r.detected / r.n)}) | ${
      Number.isFinite(r.nme) ? r.nme.toFixed(4) : "–"
    } | ${pct(r.failure_rate_10)} | ${r.ms_per_image.toFixed(1)} ms |`
  );
  return [
    "| model | photos | detected | NME | failure rate (NME > 0.10 or missed) | time per photo |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
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
