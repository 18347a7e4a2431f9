/**
 * One optimisation step on a batch: masked mean squared error over the present coordinates, gradients,
 * and the optimizer update. Kept apart from the training loop so that the backend work (micro-batching,
 * gradient accumulation) has one place.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

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

/** Runs one step and returns the batch loss (a plain number). Disposes everything it creates. */
export function trainStep(model: tf.LayersModel, optimizer: tf.Optimizer, batch: StepBatch): number {
  const loss = optimizer.minimize(() => {
    const pred = model.apply(batch.x, { training: true }) as tf.Tensor;
    return maskedMse(pred, batch.y, batch.mask);
  }, true);
  if (!loss) throw new Error("trainStep: the optimizer returned no loss");
  const value = loss.dataSync()[0];
  loss.dispose();
  return value;
}
