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
}

/**
 * Runs one step and returns the batch loss (a plain number). Disposes everything it creates.
 *
 * @example
 * ```ts
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
    // An explicit variable list fixes the order of Adam's moments to the model's weight order (the
    // default, the engine's registration order, differs between a built and a loaded functional model).
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const loss = optimizer.minimize(
      () => {
        const pred = model.apply(batch.x, { training: true }) as tf.Tensor;
        return maskedMse(pred, batch.y, batch.mask);
      },
      true,
      vars,
    );
    if (!loss) throw new Error("trainStep: the optimizer returned no loss");
    const value = loss.dataSync()[0];
    loss.dispose();
    return value;
  }
  const { loss, grads } = accumulateGradients(model, batch, micro);
  optimizer.applyGradients(grads);
  tf.dispose(Object.values(grads));
  return loss;
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
): { loss: number; grads: tf.NamedTensorMap } {
  const size = batch.x.shape[0];
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const denom = tf.tidy(() => tf.maximum(tf.sum(batch.mask), 1));
  const sums: tf.NamedTensorMap = {};
  let loss = 0;
  try {
    for (let start = 0; start < size; start += microBatch) {
      const n = Math.min(microBatch, size - start);
      const { value, grads } = tf.tidy(() => {
        const x = tf.slice(batch.x, [start, 0, 0, 0], [n, -1, -1, -1]);
        const y = tf.slice(batch.y, [start, 0], [n, -1]);
        const mask = tf.slice(batch.mask, [start, 0], [n, -1]);
        return tf.variableGrads(() => {
          const pred = model.apply(x, { training: true }) as tf.Tensor;
          return tf.div(tf.sum(tf.mul(tf.squaredDifference(pred, y), mask)), denom) as tf.Scalar;
        }, vars);
      });
      loss += value.dataSync()[0];
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
  return { loss, grads: sums };
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
 * const { microBatch } = pickMicroBatch(model, 32); // ResNet-50 on wasm → 8
 * trainStep(model, optimizer, batch, { microBatch });
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
