/**
 * One optimisation step on a batch: masked mean squared error over the present coordinates, gradients,
 * and the optimizer update; optionally split into micro-batches whose gradients are summed before one
 * update (gradient accumulation), so that a big model fits the 4 GiB wasm heap.
 *
 * Batch normalisation: tfjs-layers updates a BatchNormalization layer's moving mean and variance inside
 * `apply(x, {training: true})` (not only in `fit`), so a custom loop keeps them current. With micro-batches
 * each micro-batch normalises with its own statistics and updates the moving averages once, as training
 * with that smaller batch would.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { UsageError } from "../core/errors.ts";

/**
 * Mean squared error over the present coordinates only: `sum(mask·(pred−target)²) / max(1, sum(mask))`.
 * Targets may hold any finite value where the mask is 0 (write 0 there, not NaN: NaN·0 is NaN).
 */
export function maskedMse(pred: tf.Tensor, target: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const sq = tf.mul(tf.squaredDifference(pred, target), mask);
    return tf.div(tf.sum(sq), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
  });
}

/** The training losses {@link trainStep} can minimise (see {@link landmarkLoss}). */
export const LOSS_NAMES = ["mse", "wing", "l1"] as const;

/** One of {@link LOSS_NAMES}. */
export type LossName = typeof LOSS_NAMES[number];

/** Pixels per normalised unit (the 96×96 frame's half side, as in `models/normalise.ts`). */
const PX = 48;

/**
 * Wing loss's parameters in pixels of the 96×96 crop (Feng et al., CVPR 2018, used w = 10, ε = 2 on crops
 * of similar size): logarithmic below `w` px, so small errors keep a large gradient, linear above it.
 */
export const WING = { w: 10, epsilon: 2 } as const;

/**
 * The per-coordinate loss of an error `d` in normalised units, summed with `mask` and divided by `denom`:
 * - `"mse"`: `d²` (the thesis's loss; the value stays in normalised units²);
 * - `"wing"`: Wing loss of the error in pixels, `w·ln(1 + |e|/ε)` below `w`, `|e| − C` above it;
 * - `"l1"`: `|e|` in pixels.
 */
export function landmarkLoss(
  name: LossName,
  pred: tf.Tensor,
  target: tf.Tensor,
  mask: tf.Tensor,
  denom: tf.Tensor | number,
): tf.Scalar {
  return tf.tidy(() => {
    const d = tf.sub(pred, target);
    let per: tf.Tensor;
    if (name === "mse") per = tf.square(d);
    else {
      const e = tf.mul(tf.abs(d), PX);
      if (name === "l1") per = e;
      else {
        // w·ln(1 + min(e, w)/ε) + max(0, e − w) equals both branches (and their sum at e = w) with no
        // `where`, whose comparison has no gradient in tfjs.
        const { w, epsilon } = WING;
        per = tf.add(tf.mul(w, tf.log1p(tf.div(tf.minimum(e, w), epsilon))), tf.relu(tf.sub(e, w)));
      }
    }
    return tf.div(tf.sum(tf.mul(per, mask)), denom) as tf.Scalar;
  });
}

/** Inputs of one step: a batch already on the backend. */
export interface StepBatch {
  /** `[B, 96, 96, 1]` images. */
  x: tf.Tensor4D;
  /** `[B, 30]` normalised targets, 0 where missing. */
  y: tf.Tensor2D;
  /** `[B, 30]` 1 where present, 0 where missing. */
  mask: tf.Tensor2D;
}

/** Options of {@link trainStep}. */
export interface TrainStepOptions {
  /**
   * Images per forward/backward pass; gradients of the passes are summed, then applied once. The loss and
   * the gradients equal the full batch's (for models without batch normalisation). `"auto"`: on the wasm
   * backend, the largest that fits its heap ({@link pickMicroBatch}); elsewhere the whole batch. Default:
   * the whole batch.
   */
  microBatch?: number | "auto";
  /** The loss to minimise (default `"mse"`). */
  loss?: LossName;
  /** Filled with the batch's masked MSE (normalised units) when given, whatever the loss. */
  report?: { mse: number };
}

/**
 * Runs one step and returns the batch loss (a plain number). Disposes everything it creates.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createModel } from "../models/registry.ts";
 * const model = createModel("lenet", { seed: 0 });
 * const x = tf.zeros([32, 96, 96, 1]) as tf.Tensor4D, y = tf.zeros([32, 30]) as tf.Tensor2D;
 * const mask = tf.ones([32, 30]) as tf.Tensor2D; // every coordinate present
 * const loss = trainStep(model, tf.train.adam(1e-3), { x, y, mask }, { microBatch: 8 });
 * ```
 */
export function trainStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  batch: StepBatch,
  opts: TrainStepOptions = {},
): number {
  const size = batch.x.shape[0];
  const micro = opts.microBatch === "auto" ? autoMicroBatch(model, size) : opts.microBatch ?? size;
  if (!Number.isInteger(micro) || micro < 1) {
    throw new UsageError(`trainStep: microBatch must be a positive integer, got ${opts.microBatch}`);
  }
  if (micro >= size) {
    const { loss, mse } = minimizeBatch(model, optimizer, batch, opts);
    const value = loss.dataSync()[0];
    loss.dispose();
    if (opts.report) {
      opts.report.mse = mse ? (mse as tf.Scalar).dataSync()[0] : value;
      (mse as tf.Scalar | null)?.dispose();
    }
    return value;
  }
  const { loss, grads, mse } = accumulateGradients(model, batch, micro, opts.loss ?? "mse");
  if (opts.report) opts.report.mse = mse;
  optimizer.applyGradients(grads);
  tf.dispose(Object.values(grads));
  return loss;
}

/**
 * {@link trainStep} reading the loss asynchronously: on webgpu in Deno a synchronous read fails (tfjs reads
 * through an `OffscreenCanvas`, which Deno lacks), so the training loop uses this. Micro-batches still read
 * each pass's loss synchronously (webgpu never needs them: `"auto"` keeps the whole batch there).
 */
export async function trainStepAsync(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  batch: StepBatch,
  opts: TrainStepOptions = {},
): Promise<number> {
  const size = batch.x.shape[0];
  const micro = opts.microBatch === "auto" ? autoMicroBatch(model, size) : opts.microBatch ?? size;
  if (micro < size || tf.getBackend() !== "webgpu") return trainStep(model, optimizer, batch, opts);
  const { loss, mse } = minimizeBatch(model, optimizer, batch, opts);
  try {
    const value = (await loss.data())[0];
    if (opts.report) opts.report.mse = mse ? (await mse.data())[0] : value;
    return value;
  } finally {
    tf.dispose([loss, ...(mse ? [mse] : [])]);
  }
}

/**
 * One whole-batch step; returns the loss and, when a report is asked for with another loss, the masked MSE
 * (the caller reads and disposes both).
 */
function minimizeBatch(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  batch: StepBatch,
  opts: TrainStepOptions,
): { loss: tf.Scalar; mse: tf.Scalar | null } {
  // An explicit variable list fixes the order of Adam's moments to the model's weight order (the
  // default, the engine's registration order, differs between a built and a loaded functional model).
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const lossName = opts.loss ?? "mse";
  let mse: tf.Scalar | null = null;
  const loss = optimizer.minimize(
    () => {
      const pred = model.apply(batch.x, { training: true }) as tf.Tensor;
      if (lossName === "mse") return maskedMse(pred, batch.y, batch.mask);
      if (opts.report) mse = tf.keep(maskedMse(pred, batch.y, batch.mask));
      return landmarkLoss(lossName, pred, batch.y, batch.mask, tf.maximum(tf.sum(batch.mask), 1));
    },
    true,
    vars,
  );
  if (!loss) throw new Error("trainStep: the optimizer returned no loss");
  return { loss, mse };
}

const autoPlans = new WeakMap<tf.LayersModel, Map<number, number>>();

/** {@link pickMicroBatch} on wasm (remembered per model and batch size), the whole batch elsewhere. */
export function autoMicroBatch(model: tf.LayersModel, batchSize: number): number {
  if (tf.getBackend() !== "wasm") return batchSize;
  let plans = autoPlans.get(model);
  if (!plans) autoPlans.set(model, plans = new Map());
  let micro = plans.get(batchSize);
  if (micro === undefined) {
    micro = pickMicroBatch(model, batchSize).microBatch;
    plans.set(batchSize, micro);
  }
  return micro;
}

/**
 * The masked-MSE loss of a batch and its gradients for the model's trainable weights, computed in
 * micro-batches of `microBatch` images and summed. Each micro-batch's loss is divided by the whole batch's
 * mask count, so the sum is exactly the full-batch masked mean. The caller disposes the gradients.
 */
export function accumulateGradients(
  model: tf.LayersModel,
  batch: StepBatch,
  microBatch: number,
  lossName: LossName = "mse",
): { loss: number; grads: tf.NamedTensorMap; mse: number } {
  const size = batch.x.shape[0];
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const denom = tf.tidy(() => tf.maximum(tf.sum(batch.mask), 1));
  const sums: tf.NamedTensorMap = {};
  let loss = 0, mse = 0;
  try {
    for (let start = 0; start < size; start += microBatch) {
      const n = Math.min(microBatch, size - start);
      let sq: tf.Scalar | null = null;
      const { value, grads } = tf.tidy(() => {
        const x = tf.slice(batch.x, [start, 0, 0, 0], [n, -1, -1, -1]);
        const y = tf.slice(batch.y, [start, 0], [n, -1]);
        const mask = tf.slice(batch.mask, [start, 0], [n, -1]);
        return tf.variableGrads(() => {
          const pred = model.apply(x, { training: true }) as tf.Tensor;
          if (lossName !== "mse") sq = tf.keep(landmarkLoss("mse", pred, y, mask, denom));
          return landmarkLoss(lossName, pred, y, mask, denom);
        }, vars);
      });
      const v = value.dataSync()[0];
      loss += v;
      mse += sq ? (sq as tf.Scalar).dataSync()[0] : v;
      (sq as tf.Scalar | null)?.dispose();
      value.dispose();
      for (const [name, g] of Object.entries(grads)) {
        const prev = sums[name];
        sums[name] = prev ? tf.add(prev, g) : g;
        if (prev) tf.dispose([prev, g]);
      }
    }
  } catch (e) {
    tf.dispose(Object.values(sums));
    throw e;
  } finally {
    denom.dispose();
  }
  return { loss, grads: sums, mse };
}

/** The wasm32 heap: 4 GiB. */
export const WASM_HEAP_BYTES = 4 * 1024 ** 3;

/**
 * Bytes one training image needs on the heap, per float of layer output: activations kept for the
 * backward pass, their gradients and temporaries. Calibrated on ResNet-50 with this project's kernels:
 * micro-batches of 16 peak at 3.33 GB of heap, steady over 5 steps; batch 32 aborts; see `bench/train_bench.ts`.
 */
const BYTES_PER_ACTIVATION = 4 * 7;

/** Bytes per weight: the weight, its gradient, Adam's two moments, and a temporary. */
const BYTES_PER_PARAM = 4 * 5;

/** What {@link pickMicroBatch} estimated. */
export interface MicroBatchPlan {
  /** Images per pass (≤ the batch size). */
  microBatch: number;
  /** Estimated heap bytes for one image's activations. */
  bytesPerImage: number;
  /** Estimated heap bytes for the weights, gradients and optimizer state. */
  fixedBytes: number;
}

/**
 * Picks a micro-batch (the fewest equal passes) whose estimated heap use fits the wasm heap with a safety margin. An estimate, not a trial: after a wasm `Aborted()` the
 * module cannot be used again, so we never probe by crashing.
 *
 * @throws Error when even one image would not fit, saying why and what to change.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createModel } from "../models/registry.ts";
 * const model = createModel("resnet50", { seed: 0 });
 * const x = tf.zeros([32, 96, 96, 1]) as tf.Tensor4D, y = tf.zeros([32, 30]) as tf.Tensor2D;
 * const batch: StepBatch = { x, y, mask: tf.ones([32, 30]) as tf.Tensor2D };
 * const { microBatch } = pickMicroBatch(model, 32); // ResNet-50 on wasm → 8
 * trainStep(model, tf.train.adam(1e-3), batch, { microBatch });
 * ```
 */
export function pickMicroBatch(
  model: tf.LayersModel,
  batchSize: number,
  opts: { heapBytes?: number; margin?: number } = {},
): MicroBatchPlan {
  const heap = opts.heapBytes ?? WASM_HEAP_BYTES;
  const margin = opts.margin ?? 0.85;
  let activations = 0;
  for (const layer of model.layers) {
    const shapes =
      (Array.isArray(layer.outputShape[0]) ? layer.outputShape : [layer.outputShape]) as number[][];
    for (const shape of shapes) activations += shape.slice(1).reduce((p, d) => p * (d ?? 1), 1);
  }
  const bytesPerImage = activations * BYTES_PER_ACTIVATION;
  const fixedBytes = model.countParams() * BYTES_PER_PARAM;
  const room = heap * margin - fixedBytes;
  const fits = Math.floor(room / bytesPerImage);
  if (fits < 1) {
    const gb = (b: number) => (b / 1024 ** 3).toFixed(2);
    throw new Error(
      `model "${model.name}" does not fit the ${gb(heap)} GiB wasm heap even one image at a time: ` +
        `weights + gradients + optimizer state ≈ ${gb(fixedBytes)} GiB, one image's activations ≈ ` +
        `${gb(bytesPerImage)} GiB. Use a smaller model (fewer filters or layers), a smaller input, or ` +
        `another backend (webgpu on a GPU, or cpu: FKD_BACKEND=cpu).`,
    );
  }
  // Equal passes (32 with room for 15 → 11, 11, 10 rather than 15, 15, 2).
  const passes = Math.ceil(batchSize / Math.min(batchSize, fits));
  return { microBatch: Math.ceil(batchSize / passes), bytesPerImage, fixedBytes };
}
