/**
 * The LeNet-inspired sequential CNN of the thesis.
 *
 * | layer | output | parameters |
 * |---|---|---|
 * | input | 96×96×1 | 0 |
 * | conv1 3×3, 32, ReLU (valid) | 94×94×32 | 320 |
 * | pool1 2×2 max | 47×47×32 | 0 |
 * | conv2 3×3, 64, ReLU (valid) | 45×45×64 | 18,496 |
 * | pool2 2×2 max | 22×22×64 | 0 |
 * | conv3 3×3, 128, ReLU (valid) | 20×20×128 | 73,856 |
 * | pool3 2×2 max | 10×10×128 | 0 |
 * | flatten | 12,800 | 0 |
 * | dense1 500, ReLU | 500 | 6,400,500 |
 * | dense2 30, linear | 30 | 15,030 |
 * | **total** | | **6,508,202** |
 *
 * The 30 outputs are the keypoints in normalised units `(p − 48) / 48` (see `normalise.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { IMAGE_SIZE, NUM_COORDS } from "../core/constants.ts";
import { SeededInit } from "./init.ts";

/** Parameter count of {@link createLenet} (a test checks it). */
export const LENET_PARAMS = 6_508_202;

/**
 * Builds the LeNet-style model (uncompiled: the training loop owns the optimizer and loss).
 *
 * @example
 * ```ts
 * const model = createLenet({ seed: 1 });
 * model.countParams(); // 6508202
 * ```
 */
export function createLenet(config: { seed?: number } = {}): tf.LayersModel {
  const init = new SeededInit(config.seed);
  const model = tf.sequential({ name: "lenet" });
  [32, 64, 128].forEach((filters, i) => {
    model.add(tf.layers.conv2d({
      name: `conv${i + 1}`,
      ...(i === 0 ? { inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1] } : {}),
      filters,
      kernelSize: 3,
      activation: "relu",
      kernelInitializer: init.he(),
    }));
    model.add(tf.layers.maxPooling2d({ name: `pool${i + 1}`, poolSize: 2 }));
  });
  model.add(tf.layers.flatten({ name: "flatten" }));
  model.add(
    tf.layers.dense({ name: "dense1", units: 500, activation: "relu", kernelInitializer: init.he() }),
  );
  model.add(tf.layers.dense({ name: "dense2", units: NUM_COORDS, kernelInitializer: init.glorot() }));
  return model;
}
