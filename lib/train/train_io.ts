/**
 * The training loop, top to bottom: one config object with its defaults, then data, model and optimizer
 * (fresh or from the last checkpoint), then epochs of shuffled, augmented batches through
 * {@link trainStep} (masked MSE, Adam), validation metrics, reduce-on-plateau, early stopping, and an
 * atomic checkpoint after every epoch.
 *
 * A run is repeatable: the model's initial weights derive from `seed`, and epoch e's shuffle and
 * augmentation from `(seed, e)`, which is also why a resumed run continues exactly where it stopped.
 *
 * @example
 * ```ts
 * import { loadDataset } from "../data/spec_io.ts";
 * import { autoProgress } from "./progress_io.ts";
 * const ds = await loadDataset("synthetic:500");
 * const result = await train(ds, { model: "lenet", epochs: 5, out: "outputs/models/lenet" }, autoProgress());
 * console.log(result.metrics.rmse_px);
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { FusedAdamOptimizer } from "../kernels/fused_adam.ts";
import { augmentBatch, type Augmenter, defaultAugmentation } from "../augment/augment.ts";
import {
  checkFreshRunFolder,
  type CheckpointContent,
  checkRunFolderWritable,
  loadCheckpoint,
  lockRunFolder,
  saveCheckpoint,
  type TrainState,
} from "./checkpoint_io.ts";
import { IMAGE_SIZE, NUM_COORDS } from "../core/constants.ts";
import { completeOnly } from "../data/dataset.ts";
import { PIXELS } from "../core/constants.ts";
import { groupSplit, randomSplit } from "../data/split.ts";
import type { KeypointDataset } from "../data/types.ts";
import { DataError, UsageError } from "../core/errors.ts";
import { evaluate, type Metrics } from "../evaluate/metrics.ts";
import { artifactsToModel, modelToArtifacts, resolveModelDir } from "../models/artifacts_io.ts";
import { makeMetadata, METADATA_JSON, type ModelMetadata, modelPredictor } from "../models/keypoint_model.ts";
import { loadKeypointModel, readMetadata } from "../models/folder_io.ts";
import { NORM_SCALE, normalise } from "../models/normalise.ts";
import { createModel, isModelName, MODEL_NAMES, type ModelName } from "../models/registry.ts";
import type { EpochRecord, TrainProgress, TrainStartInfo } from "./progress_io.ts";
import { Rng } from "../core/rng.ts";
import { LOSS_NAMES, type LossName, type StepBatch, trainStepAsync } from "./train_step.ts";
import { SELECT_BY_NAMES, type SelectBy } from "./recipes.ts";

/** Every hyper-parameter of a run, with its default in {@link DEFAULT_CONFIG}. */
export interface TrainConfig {
  /** Architecture: "lenet", "thesis-resnet" or "resnet50" (any name when `build` is given). */
  model: ModelName | (string & Record<never, never>);
  /** Builds a custom architecture instead (experiments, tests): input [null, 96, 96, 1], output 30. */
  build?: (config: { seed: number }) => tf.LayersModel;
  /** Last epoch to run (a resumed run continues up to it). */
  epochs: number;
  batchSize: number;
  /** Adam's initial learning rate (the thesis: 1e-3). */
  lr: number;
  /** The loss to minimise: masked MSE (the thesis), Wing loss or L1 (see `landmarkLoss`). */
  loss: LossName;
  /**
   * The learning-rate schedule: `"plateau"` (reduce on plateau, below) or `"cosine"` (from `lr` down to
   * `minLr` over `epochs`, set at the start of each epoch; suits a run sized to a time budget).
   */
  schedule: "plateau" | "cosine";
  /** Reduce-on-plateau: multiply the LR by `lrFactor` after `lrPatience` epochs without improvement. */
  lrFactor: number;
  lrPatience: number;
  minLr: number;
  /** Stop after this many epochs without a better validation score (`selectBy`; 0: never). */
  earlyStopping: number;
  /**
   * The validation metric that picks the best epoch and drives reduce-on-plateau and early stopping:
   * RMSE in crop pixels (the thesis), or NME (normalised by the outer eye corners), which weighs a small
   * face's error as much as a large one's and is what the end-to-end tables report; or `"last"`: the last
   * epoch's model, whatever its score (a cosine run ends at its floor, and a mean over a few hundred faces
   * picks among the last epochs by their noise; no plateau or early stop then).
   */
  selectBy: SelectBy;
  /** Fraction held out for validation when one dataset is given (split by person where known). */
  validation: number;
  /** Seed of the weights, the split, the shuffles and the augmentation. */
  seed: number;
  /** On-the-fly augmentation of each batch; `null` for none. Default: `defaultAugmentation()`. */
  augment: Augmenter | null;
  /** Keep only faces with all 15 keypoints (the thesis's mode); else missing ones are masked out. */
  completeOnly: boolean;
  /** A batch loss above this (normalised units; targets lie in [-1, 1]) counts as divergence. */
  maxLoss: number;
  /** Run folder: checkpoint after every epoch, best model, history. Omitted: nothing is written. */
  out?: string;
  /** Continue from the checkpoint in `out` (weights, Adam state, epoch, LR, best, history). */
  resume: boolean;
  /**
   * A trained model folder of the same architecture whose weights start the run (fine-tuning, or a second
   * cosine cycle), instead of `seed`'s; the optimizer, schedule and epochs start afresh. Ignored on resume.
   */
  init?: string;
  /** Replace a model already in `out` (without it, or `resume`, a fresh run there is refused). */
  overwrite: boolean;
  /** How this run was started (e.g. the command line), recorded in the model's metadata. */
  command?: string;
}

/** The defaults: the thesis's Adam 1e-3 and batch 32, with a schedule and early stopping added. */
export const DEFAULT_CONFIG: Readonly<Omit<TrainConfig, "augment">> = {
  model: "lenet",
  epochs: 30,
  batchSize: 32,
  lr: 1e-3,
  loss: "mse",
  schedule: "plateau",
  lrFactor: 0.5,
  lrPatience: 3,
  minLr: 1e-6,
  earlyStopping: 8,
  selectBy: "rmse",
  validation: 0.2,
  seed: 0,
  completeOnly: false,
  maxLoss: 1e4,
  resume: false,
  overwrite: false,
};

/** What {@link train} returns. */
export interface TrainResult {
  /** The model with the best validation score (`selectBy`; the last epoch's without a validation set). */
  model: tf.LayersModel;
  /** Validation metrics of that model (NaN fields with no validation set). */
  metrics: Metrics;
  bestEpoch: number;
  history: EpochRecord[];
  /** "epochs", "early-stopping" or "already finished". */
  stoppedBy: string;
  /** The epoch a resumed run continued after, or null for a fresh run. */
  resumedFrom: number | null;
  config: TrainConfig;
}

/** Thrown when the loss becomes NaN, infinite or larger than `maxLoss`. */
export class TrainingDivergedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainingDivergedError";
  }
}

/** Defaults filled in and every number checked (a `UsageError` names the bad option). */
export function resolveConfig(config: Partial<TrainConfig> = {}): TrainConfig {
  const cfg: TrainConfig = {
    ...DEFAULT_CONFIG,
    ...Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)),
    augment: config.augment === undefined ? defaultAugmentation() : config.augment,
  };
  if (!cfg.build && !isModelName(cfg.model)) {
    throw new UsageError(`unknown model "${cfg.model}": expected one of ${MODEL_NAMES.join(", ")}`);
  }
  const check = (key: keyof TrainConfig, ok: boolean, expected: string) => {
    if (!ok) throw new UsageError(`option ${key} = ${cfg[key]} is out of range: expected ${expected}`);
  };
  const isInt = (v: number, min: number) => Number.isInteger(v) && v >= min;
  check("epochs", isInt(cfg.epochs, 1), "an integer ≥ 1");
  check("batchSize", isInt(cfg.batchSize, 1) && cfg.batchSize <= 4096, "an integer in 1..4096");
  check("lr", cfg.lr > 0 && cfg.lr < 10, "a number in (0, 10)");
  check("lrFactor", cfg.lrFactor > 0 && cfg.lrFactor <= 1, "a number in (0, 1]");
  check("lrPatience", isInt(cfg.lrPatience, 1), "an integer ≥ 1");
  check("minLr", cfg.minLr >= 0 && cfg.minLr <= cfg.lr, "a number in [0, lr]");
  check("earlyStopping", isInt(cfg.earlyStopping, 0), "an integer ≥ 0");
  check("validation", cfg.validation >= 0 && cfg.validation < 1, "a fraction in [0, 1)");
  check("seed", Number.isSafeInteger(cfg.seed), "an integer");
  check("maxLoss", cfg.maxLoss > 0, "a number > 0");
  check("loss", (LOSS_NAMES as readonly string[]).includes(cfg.loss), LOSS_NAMES.join(" | "));
  check("schedule", cfg.schedule === "plateau" || cfg.schedule === "cosine", "plateau | cosine");
  check(
    "selectBy",
    (SELECT_BY_NAMES as readonly string[]).includes(cfg.selectBy),
    SELECT_BY_NAMES.join(" | "),
  );
  if (cfg.resume && !cfg.out) throw new UsageError("resume needs a run folder (out)");
  return cfg;
}

/**
 * Checks that `dir` holds a trained `model` to start a run from (`TrainConfig.init`), without building it;
 * `DataError` naming its metadata otherwise. Returns the metadata.
 */
export async function checkInitModel(dir: string, model: string): Promise<ModelMetadata> {
  const metadata = await readMetadata(await resolveModelDir(dir));
  if (metadata.model !== model) {
    throw new DataError(`holds a ${metadata.model} model; training ${model} cannot start from it`, {
      file: join(dir, METADATA_JSON),
    });
  }
  return metadata;
}

/**
 * Warns where a run starts from a model trained on the same dataset split another way (seed, fraction or
 * drop-incomplete): faces it trained on may be in this run's validation set, and the scores would flatter it.
 */
function warnIfSplitDiffers(init: ModelMetadata, cfg: TrainConfig, dataName: string): void {
  const t = init.training as { data?: { name?: string }; config?: Partial<TrainConfig> } | undefined;
  const name = t?.data?.name, c = t?.config;
  if (!c || !(name === dataName || name?.startsWith(`${dataName} [`))) return;
  if (
    c.seed !== cfg.seed || c.validation !== cfg.validation || (c.completeOnly ?? false) !== cfg.completeOnly
  ) {
    console.warn(
      `${cfg.init} was trained on ${dataName} split with seed ${c.seed}, validation ${c.validation}: ` +
        `this run's validation faces may be faces it trained on`,
    );
  }
}

/** Training and validation sets: given as a pair, or split from one dataset (by person where known). */
export function prepareData(
  data: KeypointDataset | { train: KeypointDataset; validation: KeypointDataset },
  cfg: Pick<TrainConfig, "completeOnly" | "validation" | "seed">,
): { train: KeypointDataset; validation: KeypointDataset } {
  const drop = (ds: KeypointDataset) => cfg.completeOnly ? completeOnly(ds) : ds;
  let sets: { train: KeypointDataset; validation: KeypointDataset };
  if ("train" in data) {
    sets = { train: drop(data.train), validation: drop(data.validation) };
  } else {
    const ds = drop(data);
    const split = ds.groups ? groupSplit : randomSplit;
    sets = split(ds, { validation: cfg.validation, seed: cfg.seed });
  }
  if (sets.train.n === 0) {
    throw new UsageError(
      `no training faces left in ${sets.train.name}${
        cfg.completeOnly ? " after dropping incomplete rows" : ""
      }`,
    );
  }
  return sets;
}

/**
 * The part of `ds` that a model's training used as `which` ("training" or "validation"), re-made from the
 * split settings in its metadata (validation fraction, seed, drop-incomplete), so that a model is scored on
 * the faces it never trained on. `ds` must be the dataset the model was trained on.
 *
 * @throws {UsageError} when the metadata has no training record or the split's sizes differ from the
 *   recorded ones (another dataset, or other settings).
 */
export function splitLikeTraining(
  ds: KeypointDataset,
  metadata: { training?: { config?: unknown; data?: { train?: number; validation?: number } } },
  which: "training" | "validation",
): KeypointDataset {
  const config = metadata.training?.config as Partial<TrainConfig> | undefined;
  if (!config || typeof config.validation !== "number" || typeof config.seed !== "number") {
    throw new UsageError(
      "the model's metadata.json records no training split (validation fraction and seed)",
    );
  }
  const sets = prepareData(ds, {
    completeOnly: config.completeOnly ?? false,
    validation: config.validation,
    seed: config.seed,
  });
  const recorded = metadata.training?.data;
  if (recorded && (recorded.train !== sets.train.n || recorded.validation !== sets.validation.n)) {
    throw new UsageError(
      `${ds.name} splits into ${sets.train.n}/${sets.validation.n} faces with the model's settings, but the ` +
        `model was trained on ${recorded.train}/${recorded.validation}: pass the dataset it was trained on`,
    );
  }
  return which === "training" ? sets.train : sets.validation;
}

/** The random source of epoch `epoch`: fixed by the run's seed, so a resume replays the same batches. */
function epochRng(seed: number, epoch: number): Rng {
  return new Rng((seed * 1_000_003 + epoch * 7_919) | 0);
}

/** One batch on the backend: faces `indices`, augmented, targets normalised, missing ones masked. */
function makeBatch(ds: KeypointDataset, indices: number[], augment: Augmenter | null, rng: Rng): StepBatch {
  const n = indices.length;
  let images: Float32Array = new Float32Array(n * PIXELS);
  let keypoints: Float32Array = new Float32Array(n * NUM_COORDS);
  indices.forEach((i, k) => {
    images.set(ds.images.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS);
    keypoints.set(ds.keypoints.subarray(i * NUM_COORDS, (i + 1) * NUM_COORDS), k * NUM_COORDS);
  });
  if (augment) ({ images, keypoints } = augmentBatch(augment, images, keypoints, n, rng));
  const target = normalise(keypoints);
  const mask = new Float32Array(target.length);
  for (let i = 0; i < target.length; i++) {
    // NaN·0 is NaN, so a missing target must become a finite 0 as well as being masked.
    if (Number.isNaN(target[i])) target[i] = 0;
    else mask[i] = 1;
  }
  return {
    x: tf.tensor4d(images, [n, IMAGE_SIZE, IMAGE_SIZE, 1]),
    y: tf.tensor2d(target, [n, NUM_COORDS]),
    mask: tf.tensor2d(mask, [n, NUM_COORDS]),
  };
}

/** Metrics of `model` on a dataset (all NaN for an empty one). */
async function validate(model: tf.LayersModel, ds: KeypointDataset): Promise<Metrics> {
  if (ds.n === 0) return evaluate(new Float32Array(0), new Float32Array(0));
  return evaluate(await modelPredictor(model, "validation").predict(ds.images, ds.n), ds.keypoints);
}

/** Adam's learning rate is a plain field that `applyGradients` reads on every step. */
/**
 * Adam's state as saved in a checkpoint: `iter`, then `<weight>/m` and `<weight>/v` named by the weights'
 * layer-scoped names (`block1_1_conv/kernel`), which do not depend on how many models the process built
 * before (the engine's variable names get `_1`, `_2`, … suffixes).
 */
function adamStateForCheckpoint(
  model: tf.LayersModel,
  state: { name: string; tensor: tf.Tensor }[],
): { name: string; tensor: tf.Tensor }[] {
  // Adam labels a moment with the engine's variable name, or, after a resume, with the name it was given.
  const stable = new Map(model.trainableWeights.flatMap((w) => [
    [(w.read() as tf.Variable).name, w.originalName],
    [w.originalName, w.originalName],
  ]));
  return state.map(({ name, tensor }) => {
    if (name === "iter") return { name, tensor };
    const m = name.match(/^(.*)\/([mv])$/);
    const weight = m && stable.get(m[1]);
    if (!m || !weight) {
      throw new Error(`optimizer state "${name}" belongs to no trainable weight of the model`);
    }
    return { name: `${weight}/${m[2]}`, tensor };
  });
}

/**
 * Adam's saved state (see {@link adamStateForCheckpoint}) in the order of the model's trainable weights,
 * which is the order `trainStep` hands the optimizer: Adam pairs moments with variables by position, so
 * the state is matched by name here, whatever order it was saved in.
 */
function adamStateInModelOrder(
  model: tf.LayersModel,
  saved: tf.NamedTensorMap,
  out: string,
): { name: string; tensor: tf.Tensor }[] {
  const names = model.trainableWeights.map((w) => w.originalName);
  const wanted = ["iter", ...names.map((n) => `${n}/m`), ...names.map((n) => `${n}/v`)];
  const missing = wanted.filter((n) => !(n in saved));
  const powers = BETA_POWERS.filter((n) => n in saved).length; // absent in checkpoints before they were saved
  if (missing.length > 0 || Object.keys(saved).length !== wanted.length + powers) {
    throw new DataError(
      `the optimizer state does not match the model (missing ${missing.slice(0, 3).join(", ") || "none"}; ` +
        `${Object.keys(saved).length} saved, ${wanted.length} expected): start a fresh run without --resume`,
      { file: `${out}/checkpoint/optimizer.json` },
    );
  }
  return wanted.map((name) => ({ name, tensor: saved[name] }));
}

/** The cosine schedule's rate for `epoch` (1-based): `lr` at epoch 1, `minLr` after the last. */
export function cosineLr(cfg: Pick<TrainConfig, "lr" | "minLr" | "epochs">, epoch: number): number {
  const t = (epoch - 1) / Math.max(1, cfg.epochs);
  return cfg.minLr + (cfg.lr - cfg.minLr) * 0.5 * (1 + Math.cos(Math.PI * t));
}

/**
 * Adam's running powers β₁ᵗ and β₂ᵗ (private fields of tfjs's AdamOptimizer). Training builds them by one
 * multiplication per step, but `setWeights` recomputes them as `pow(β, t + 1)`, which differs in the last
 * bits, so a resumed run would drift from an uninterrupted one: they are saved and restored as they are.
 */
const BETA_POWERS = ["accBeta1", "accBeta2"] as const;

function betaPowers(optimizer: tf.AdamOptimizer): { name: string; tensor: tf.Tensor }[] {
  const fields = optimizer as unknown as Record<string, tf.Variable | undefined>;
  return BETA_POWERS.flatMap((name) => (fields[name] ? [{ name, tensor: fields[name] }] : []));
}

function restoreBetaPowers(optimizer: tf.AdamOptimizer, saved: tf.NamedTensorMap): void {
  const fields = optimizer as unknown as Record<string, tf.Variable | undefined>;
  for (const name of BETA_POWERS) if (saved[name] && fields[name]) fields[name].assign(saved[name]);
}

function setLearningRate(optimizer: tf.AdamOptimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

/**
 * Trains a model. `data` is one dataset (split into training and validation by `config.validation`) or a
 * ready pair. Progress goes to `progress` (see `lib/train/progress_io.ts` for a terminal bar and a notebook view).
 *
 * Throws `UsageError` for a bad option or a checkpoint of another model, and
 * {@link TrainingDivergedError} when the loss becomes NaN or explodes; the run folder then keeps the
 * last good epoch's checkpoint.
 */
export async function train(
  data: KeypointDataset | { train: KeypointDataset; validation: KeypointDataset },
  config: Partial<TrainConfig> = {},
  progress: TrainProgress = {},
): Promise<TrainResult> {
  // ---- config and data
  const cfg = resolveConfig(config);
  const sets = prepareData(data, cfg);
  // A run that starts from a model is checked here, before the run folder is locked (a resume ignores init).
  if (cfg.init && !cfg.resume) {
    const init = await checkInitModel(cfg.init, cfg.model);
    if (!("train" in data)) warnIfSplitDiffers(init, cfg, data.name);
  }

  // ---- the run folder: one run at a time, and no trained model replaced unasked
  if (cfg.out) await checkRunFolderWritable(cfg.out);
  const lock = cfg.out ? await lockRunFolder(cfg.out) : null;
  try {
    if (cfg.out && !cfg.resume && !cfg.overwrite) await checkFreshRunFolder(cfg.out);
    return await trainLocked(sets, cfg, progress);
  } finally {
    await lock?.release();
  }
}

/**
 * The model of `cfg.init` (checked by {@link train}) to train further, and what the run's metadata records of
 * it (its folder may later hold another model: `deno task export-model --overwrite`).
 */
async function initialModel(cfg: TrainConfig): Promise<{ model: tf.LayersModel; from: InitRecord }> {
  const { model, metadata } = await loadKeypointModel(cfg.init!);
  const t = metadata.training as { data?: { name?: string }; config?: { command?: string } } | undefined;
  return {
    model,
    from: { dir: cfg.init!, savedAt: metadata.savedAt, command: t?.config?.command, data: t?.data?.name },
  };
}

/** The model a run started from (`TrainConfig.init`), as its metadata records it. */
interface InitRecord {
  dir: string;
  savedAt: string;
  command?: string;
  data?: string;
}

/** {@link train} from the model on, while the run folder is locked. */
async function trainLocked(
  sets: { train: KeypointDataset; validation: KeypointDataset },
  cfg: TrainConfig,
  progress: TrainProgress,
): Promise<TrainResult> {
  const { train: trainSet, validation: valSet } = sets;
  // ---- model, optimizer and state: fresh, or restored from the last checkpoint
  const ck = cfg.resume ? await loadCheckpoint(cfg.out!, cfg.model) : null;
  const init = !ck && cfg.init ? await initialModel(cfg) : null;
  const initFrom = init?.from ?? (ck?.metadata.training?.initFrom as InitRecord | undefined);
  const model = ck
    ? await artifactsToModel(ck.last)
    : init
    ? init.model
    : cfg.build
    ? cfg.build({ seed: cfg.seed })
    : createModel(cfg.model, { seed: cfg.seed });
  let state: TrainState = ck?.state ?? {
    model: cfg.model,
    epoch: 0,
    lr: cfg.lr,
    bestValRmse: Infinity,
    bestEpoch: 0,
    epochsSinceBest: 0,
    epochsSinceLrChange: 0,
    seed: cfg.seed,
    data: { name: trainSet.name, train: trainSet.n, validation: valSet.n },
    history: [],
  };
  state = { ...state, bestValRmse: state.bestValRmse ?? Infinity }; // JSON stores Infinity as null
  const optimizer = new FusedAdamOptimizer(state.lr);
  if (ck) {
    const weights = tf.io.decodeWeights(ck.optimizer.data, ck.optimizer.specs);
    await optimizer.setWeights(adamStateInModelOrder(model, weights, cfg.out!));
    restoreBetaPowers(optimizer, weights);
    tf.dispose(Object.values(weights)); // setWeights made variables sharing the data
    if (state.data.train !== trainSet.n || state.data.validation !== valSet.n) {
      console.warn(
        `resuming a run trained on ${state.data.train}/${state.data.validation} faces (${state.data.name}) ` +
          `with ${trainSet.n}/${valSet.n} faces (${trainSet.name})`,
      );
    }
  }
  let best = ck?.best ?? null;
  let bestMetrics: Metrics | null = (ck?.metadata.training?.metrics as Metrics | undefined) ?? null;

  const batches = Math.ceil(trainSet.n / cfg.batchSize);
  const startInfo: TrainStartInfo = {
    model: cfg.model,
    epochs: cfg.epochs,
    startEpoch: state.epoch + 1,
    batchesPerEpoch: batches,
    trainSize: trainSet.n,
    validationSize: valSet.n,
    backend: tf.getBackend(),
  };
  progress.onStart?.(startInfo);
  const metadataFor = (m: Metrics | null, stoppedBy?: string) =>
    makeMetadata(cfg.model, model, {
      data: { name: trainSet.name, synthetic: trainSet.synthetic, train: trainSet.n, validation: valSet.n },
      initFrom,
      config: {
        ...cfg,
        build: undefined,
        augment: cfg.augment ? cfg.augment.transforms.map((t) => t.name) : null,
      },
      metrics: m,
      bestEpoch: state.bestEpoch,
      epochsRun: state.epoch,
      stoppedBy,
      backend: tf.getBackend(),
      secondsPerEpoch: state.history.reduce((a, r) => a + r.seconds, 0) / Math.max(1, state.history.length),
    });

  // ---- the epochs
  let stoppedBy = state.epoch >= cfg.epochs ? "already finished" : "epochs";
  try {
    for (let epoch = state.epoch + 1; epoch <= cfg.epochs; epoch++) {
      if (cfg.schedule === "cosine") {
        state.lr = cosineLr(cfg, epoch);
        setLearningRate(optimizer, state.lr);
      }
      const rng = epochRng(state.seed, epoch);
      const order = rng.shuffle(Array.from({ length: trainSet.n }, (_, i) => i));
      const t0 = performance.now();
      let lossSum = 0, mseSum = 0, seen = 0;
      const report = { mse: NaN };
      for (let b = 0; b < batches; b++) {
        const indices = order.slice(b * cfg.batchSize, (b + 1) * cfg.batchSize);
        const batch = makeBatch(trainSet, indices, cfg.augment, rng);
        let loss: number;
        try {
          // "auto": on wasm, split a batch that would not fit the 4 GiB heap into micro-batches.
          loss = await trainStepAsync(model, optimizer, batch, {
            microBatch: "auto",
            loss: cfg.loss,
            report,
          });
        } finally {
          tf.dispose([batch.x, batch.y, batch.mask]);
        }
        if (!Number.isFinite(loss) || loss > cfg.maxLoss) {
          const kept = cfg.out && state.epoch > 0
            ? `the last good checkpoint (epoch ${state.epoch}) is kept in ${cfg.out}`
            : "no checkpoint was written";
          throw new TrainingDivergedError(
            `training diverged: the loss is ${loss} at epoch ${epoch}, batch ${b + 1} (learning rate ` +
              `${state.lr}); stopped, ${kept}. Try a lower learning rate or check the data.`,
          );
        }
        lossSum += loss * indices.length;
        mseSum += report.mse * indices.length;
        seen += indices.length;
        const seconds = (performance.now() - t0) / 1000;
        progress.onBatch?.({
          epoch,
          batch: b + 1,
          batches,
          loss: lossSum / seen,
          imagesPerSec: seen / seconds,
          seconds,
        });
      }
      const trainSeconds = (performance.now() - t0) / 1000;

      // ---- validation, best model, LR schedule, early stopping
      const metrics = await validate(model, valSet);
      const loss = lossSum / seen;
      // Without a validation set the training loss stands in, so the schedule still works.
      const trainRmse = Math.sqrt(mseSum / seen) * NORM_SCALE;
      const score = valSet.n === 0 ? trainRmse : cfg.selectBy === "nme" ? metrics.nme : metrics.rmse_px;
      if (!Number.isFinite(score)) {
        const needs = valSet.n === 0
          ? "the training faces have no labelled keypoint"
          : cfg.selectBy === "nme"
          ? `the validation faces of ${valSet.name} lack both outer eye corners (select by rmse instead)`
          : `the validation faces of ${valSet.name} have no labelled keypoint`;
        throw new DataError(
          `the ${
            valSet.n === 0 ? "training RMSE" : `validation ${cfg.selectBy === "nme" ? "NME" : "RMSE"}`
          } is ` +
            `${score} at epoch ${epoch}: ${needs}`,
        );
      }
      const record: EpochRecord = {
        epoch,
        loss,
        train_rmse_px: trainRmse,
        val_rmse_px: metrics.rmse_px,
        val_nme: metrics.nme,
        val_pck_10: metrics.pck_10,
        lr: state.lr,
        seconds: (performance.now() - t0) / 1000,
        images_per_sec: seen / trainSeconds,
      };
      const history = [...state.history, record];
      let { lr, bestValRmse, bestEpoch, epochsSinceBest, epochsSinceLrChange } = state;
      // Checkpoints from before `selectBy` selected by RMSE and kept no separate score.
      let bestScore = state.bestScore ?? (cfg.selectBy === "rmse" ? state.bestValRmse : Infinity);
      if (score < bestScore || cfg.selectBy === "last") {
        [bestScore, bestEpoch, epochsSinceBest, epochsSinceLrChange] = [score, epoch, 0, 0];
        bestValRmse = valSet.n > 0 ? metrics.rmse_px : trainRmse;
        best = await modelToArtifacts(model);
        bestMetrics = metrics;
      } else {
        epochsSinceBest++;
        epochsSinceLrChange++;
        if (cfg.schedule === "plateau" && epochsSinceLrChange >= cfg.lrPatience && lr > cfg.minLr) {
          lr = Math.max(cfg.minLr, lr * cfg.lrFactor);
          setLearningRate(optimizer, lr);
          epochsSinceLrChange = 0;
        }
      }
      const stop = cfg.earlyStopping > 0 && epochsSinceBest >= cfg.earlyStopping;
      if (stop) stoppedBy = "early-stopping";
      state = {
        ...state,
        epoch,
        lr,
        bestValRmse,
        bestScore,
        bestEpoch,
        epochsSinceBest,
        epochsSinceLrChange,
        history,
      };
      if (stop || epoch === cfg.epochs) state.finished = stoppedBy;

      // ---- checkpoint (atomic), then report
      if (cfg.out) {
        const optimizerWeights = [
          ...adamStateForCheckpoint(model, await optimizer.getWeights()),
          ...betaPowers(optimizer),
        ];
        const content: CheckpointContent = {
          best: best!,
          metadata: metadataFor(bestMetrics, state.finished),
          last: await modelToArtifacts(model),
          optimizerWeights,
          state,
        };
        try {
          await saveCheckpoint(cfg.out, content);
        } finally {
          // getWeights returns the live moment variables plus one new scalar (the iteration count).
          tf.dispose(optimizerWeights.map((w) => w.tensor).filter((t) => !(t instanceof tf.Variable)));
        }
      }
      progress.onEpoch?.(record, startInfo);
      if (stop) break;
    }
  } catch (e) {
    if (e instanceof TrainingDivergedError) {
      progress.onEnd?.({ reason: "diverged", bestEpoch: state.bestEpoch, bestValRmse: state.bestValRmse });
    }
    optimizer.dispose();
    model.dispose();
    throw e;
  }
  optimizer.dispose();
  progress.onEnd?.({ reason: stoppedBy, bestEpoch: state.bestEpoch, bestValRmse: state.bestValRmse });

  // ---- hand back the best model
  let result = model;
  if (best && state.bestEpoch !== state.epoch) {
    result = await artifactsToModel(best);
    model.dispose();
  }
  return {
    model: result,
    metrics: bestMetrics ?? await validate(result, valSet),
    bestEpoch: state.bestEpoch,
    history: state.history,
    stoppedBy,
    resumedFrom: ck ? ck.state.epoch : null,
    config: cfg,
  };
}
