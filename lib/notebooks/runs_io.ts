/**
 * The notebooks' steps that train, read model folders or photos, kept out of their cells so that they are
 * typed and tested: the cost of an epoch measured by a short run, the validation split a model was trained
 * with (from its metadata), a training run that continues its run folder, predictions on held-out faces,
 * and the end-to-end comparison of models on photos.
 *
 * @example
 * ```ts
 * import { loadDataset } from "../data/spec_io.ts";
 * import { loadKeypointModel } from "../models/folder_io.ts";
 * const ds = await loadDataset("synthetic:500");
 * const result = await trainInRunFolder(ds, { model: "lenet", out: "outputs/models/notebooks/x/lenet" });
 * const model = await loadKeypointModel("outputs/models/notebooks/x/lenet");
 * const validation = validationSplitOf(ds, model.metadata); // the faces that run held out
 * ```
 *
 * @module
 */
import { readCheckpointState } from "../train/checkpoint_io.ts";
import { subset } from "../data/dataset.ts";
import type { KeypointDataset } from "../data/types.ts";
import type { FaceDetector } from "../face/detect.ts";
import { type EndToEndImage, type EndToEndOptions, evaluateEndToEnd } from "../evaluate/end_to_end_io.ts";
import { DataError, UsageError } from "../core/errors.ts";
import { comparisonTable } from "../evaluate/metrics.ts";
import { type ModelMetadata, modelPredictor } from "../models/keypoint_model.ts";
import type { KeypointPredictor } from "../models/types.ts";
import { keypointErrors } from "../viz/figures.ts";
import type { TrainProgress } from "../train/progress_io.ts";
import { prepareData, train, type TrainConfig, type TrainResult } from "../train/train_io.ts";
import { type EndToEndRun, type EpochCost, epochCost, heldOutPhotosSpec } from "./analysis.ts";
import { join } from "node:path";
import { DATASET_CACHE_DIR } from "../data/dataset_cache_io.ts";
import { loadDataset } from "../data/spec_io.ts";
import { fileExists, REPO_ROOT } from "../notebook.ts";

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
  // A fresh (quick-mode) run replaces its own throwaway folder: asking for --overwrite there would only get in the way.
  if (opts.fresh) return await train(ds, { ...config, resume: false, overwrite: true }, progress);
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
 * Detect → crop → predict → compare for every model on the same photos, with `opts` (refinement, flip, a
 * detection cache: detections do not depend on the model, so a cache runs the detector once per photo).
 */
export async function compareEndToEnd(
  detector: FaceDetector,
  models: readonly KeypointPredictor[],
  photos: Pick<KeypointDataset, "name" | "n" | "sources" | "parts">,
  opts: Omit<EndToEndOptions, "perImage"> = {},
): Promise<EndToEndRun[]> {
  const runs: EndToEndRun[] = [];
  for (const m of models) {
    const perImage: EndToEndImage[] = [];
    const report = await evaluateEndToEnd(detector, m, photos, { ...opts, perImage });
    runs.push({ name: m.name, report, nme: Float32Array.from(perImage, (p) => p.nme) });
  }
  return runs;
}

/**
 * The photos notebook 05 scores end to end, and how to name them: `FKD_E2E_DATA` where set; else the
 * models' validation faces where they come from photos with 68 landmarks (held out by person and by photo:
 * the README's set); else {@link heldOutPhotosSpec}'s choice (the ytf68 test frames beside the checkout);
 * null where there is none. `limit` keeps the first photos (quick mode).
 */
export async function endToEndPhotos(
  validation: KeypointDataset,
  spec: string,
  env: { FKD_E2E_DATA?: string },
  fallbacks: readonly string[],
  limit?: number,
): Promise<{ photos: KeypointDataset; label: string } | null> {
  const fromPhotos = validation.sources?.every((s) => s.landmarks68 !== undefined) ?? false;
  if (!env.FKD_E2E_DATA?.trim() && fromPhotos && validation.n > 0) {
    const photos = limit !== undefined && validation.n > limit
      ? subset(validation, [...Array(limit).keys()])
      : validation;
    const of = photos.n < validation.n ? `the first ${photos.n} of ` : "";
    return {
      photos,
      label: `${of}the models' ${validation.n} validation faces (held out by person and photo)`,
    };
  }
  const named = heldOutPhotosSpec(spec, env, fallbacks, fileExists);
  if (!named) return null;
  const photos = await loadDataset(named, { limit, cacheDir: join(REPO_ROOT, DATASET_CACHE_DIR) });
  return { photos, label: photos.name.replaceAll(join(REPO_ROOT, ".."), "..") };
}
