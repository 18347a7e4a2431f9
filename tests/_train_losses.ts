/**
 * Test helper: the losses of `steps` optimizer steps of masked MSE on one batch, read asynchronously (webgpu's
 * synchronous read needs an OffscreenCanvas, which Deno lacks).
 */
import * as tf from "@tensorflow/tfjs";
import { maskedMse } from "../lib/train/train_step.ts";

/** Runs `steps` steps of `opt` on `model` with batch (x, y, mask) and returns each step's loss. */
export async function stepLosses(
  model: tf.LayersModel,
  opt: tf.Optimizer,
  batch: { x: tf.Tensor; y: tf.Tensor; mask: tf.Tensor },
  steps: number,
): Promise<number[]> {
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const loss = opt.minimize(
      () => maskedMse(model.apply(batch.x, { training: true }) as tf.Tensor, batch.y, batch.mask),
      true,
    )!;
    losses.push((await loss.data())[0]);
    loss.dispose();
  }
  return losses;
}
