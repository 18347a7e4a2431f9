/**
 * ResNet-50-inspired functional models, two ways.
 *
 * **`thesis-resnet`**: the compact model the thesis trained (Adam 1e-3, MSE). Each of its three residual
 * blocks is a bottleneck whose main path is conv 1×1 (stride 2) → BN → ReLU → conv 3×3 → BN → ReLU →
 * conv 1×1 → BN, and whose shortcut is a stride-2 3×3 projection conv → BN; the sum goes through ReLU.
 *
 * | layer | output | parameters |
 * |---|---|---|
 * | input | 96×96×1 | 0 |
 * | block1, 32 filters | 48×48×32 | 11,200 |
 * | block2, 128 filters | 24×24×128 | 207,360 |
 * | block3, 128 filters | 12×12×128 | 330,240 |
 * | conv 3×3, 128, stride 2 (valid) → BN → ReLU | 5×5×128 | 148,096 |
 * | flatten | 3,200 | 0 |
 * | dense 512 → LeakyReLU(0.2) | 512 | 1,638,912 |
 * | dense 30, linear | 30 | 15,390 |
 * | **total** (BN moving statistics included, as Keras counts) | | **2,351,198** (2,348,638 trainable) |
 *
 * **`resnet50`**: the full ResNet-50 layout (Keras `ResNet50`, 7×7/2 stem conv + 3×3/2 max-pool, then
 * [3, 4, 6, 3] bottleneck blocks of 64/128/256/512 filters expanding ×4, 1×1 projection shortcuts) on a
 * 96×96×1 input: 96 → 48 (stem) → 24 (pool) → 24, 12, 6, 3 (stages) → global average pool (2048) → dense 30.
 * **23,642,910** parameters (23,589,790 trainable). On wasm it trains at batch ≤ 16 only (the 4 GiB heap).
 *
 * Outputs are the 30 keypoint coordinates in normalised units `(p − 48) / 48`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { IMAGE_SIZE, NUM_COORDS } from "../core/constants.ts";
import { SeededInit } from "./init.ts";

/** Parameter count of {@link createThesisResnet} (a test checks it). */
export const THESIS_RESNET_PARAMS = 2_351_198;
/** Parameter count of {@link createResnet50} (a test checks it). */
export const RESNET50_PARAMS = 23_642_910;

type Sym = tf.SymbolicTensor;

/** Conv → BN (→ ReLU), the unit every block is built from. */
function convBn(
  x: Sym,
  init: SeededInit,
  name: string,
  o: { filters: number; kernel: number; strides?: number; padding?: "same" | "valid"; relu?: boolean },
): Sym {
  let y = tf.layers.conv2d({
    name: `${name}_conv`,
    filters: o.filters,
    kernelSize: o.kernel,
    strides: o.strides ?? 1,
    padding: o.padding ?? "same",
    kernelInitializer: init.he(),
  }).apply(x) as Sym;
  y = tf.layers.batchNormalization({ name: `${name}_bn`, axis: 3 }).apply(y) as Sym;
  return o.relu === false ? y : tf.layers.reLU({ name: `${name}_relu` }).apply(y) as Sym;
}

/**
 * A bottleneck residual block: 1×1 (stride s) → 3×3 → 1×1 with `filters[2]` outputs, plus a shortcut that is
 * the identity or a projection conv (kernel `shortcutKernel`, stride s) when shapes change.
 */
function bottleneck(
  x: Sym,
  init: SeededInit,
  name: string,
  filters: readonly [number, number, number],
  o: { strides: number; project: boolean; shortcutKernel: number },
): Sym {
  let y = convBn(x, init, `${name}_1`, { filters: filters[0], kernel: 1, strides: o.strides });
  y = convBn(y, init, `${name}_2`, { filters: filters[1], kernel: 3 });
  y = convBn(y, init, `${name}_3`, { filters: filters[2], kernel: 1, relu: false });
  const shortcut = o.project
    ? convBn(x, init, `${name}_0`, {
      filters: filters[2],
      kernel: o.shortcutKernel,
      strides: o.strides,
      relu: false,
    })
    : x;
  const sum = tf.layers.add({ name: `${name}_add` }).apply([shortcut, y]) as Sym;
  return tf.layers.reLU({ name: `${name}_out` }).apply(sum) as Sym;
}

/**
 * Builds the thesis's compact ResNet (2,351,198 parameters; see the module doc for the layers).
 *
 * @example
 * ```ts
 * const model = createThesisResnet({ seed: 0 });
 * model.outputs[0].shape; // [null, 30]
 * ```
 */
export function createThesisResnet(config: { seed?: number } = {}): tf.LayersModel {
  const init = new SeededInit(config.seed);
  const input = tf.input({ name: "image", shape: [IMAGE_SIZE, IMAGE_SIZE, 1] });
  let x: Sym = input;
  for (const [i, f] of [32, 128, 128].entries()) {
    x = bottleneck(x, init, `block${i + 1}`, [f, f, f], { strides: 2, project: true, shortcutKernel: 3 });
  }
  x = convBn(x, init, "reduce", { filters: 128, kernel: 3, strides: 2, padding: "valid" });
  x = tf.layers.flatten({ name: "flatten" }).apply(x) as Sym;
  x = tf.layers.dense({ name: "fc1", units: 512, kernelInitializer: init.glorot() }).apply(x) as Sym;
  x = tf.layers.leakyReLU({ name: "fc1_leaky", alpha: 0.2 }).apply(x) as Sym;
  const output = tf.layers.dense({ name: "keypoints", units: NUM_COORDS, kernelInitializer: init.glorot() })
    .apply(x) as Sym;
  return tf.model({ name: "thesis-resnet", inputs: input, outputs: output });
}

/**
 * Builds ResNet-50 for a 96×96×1 input with a 30-unit linear head (23,642,910 parameters).
 *
 * @example
 * ```ts
 * const model = createResnet50({ seed: 0 });
 * model.countParams(); // 23642910
 * ```
 */
export function createResnet50(config: { seed?: number } = {}): tf.LayersModel {
  const init = new SeededInit(config.seed);
  const input = tf.input({ name: "image", shape: [IMAGE_SIZE, IMAGE_SIZE, 1] });
  let x = convBn(input, init, "stem", { filters: 64, kernel: 7, strides: 2 });
  x = tf.layers.maxPooling2d({ name: "stem_pool", poolSize: 3, strides: 2, padding: "same" }).apply(x) as Sym;
  const stages = [[64, 3], [128, 4], [256, 6], [512, 3]] as const;
  for (const [s, [f, blocks]] of stages.entries()) {
    for (let b = 0; b < blocks; b++) {
      x = bottleneck(x, init, `stage${s + 2}_block${b + 1}`, [f, f, 4 * f], {
        strides: b === 0 && s > 0 ? 2 : 1,
        project: b === 0,
        shortcutKernel: 1,
      });
    }
  }
  x = tf.layers.globalAveragePooling2d({ name: "pool" }).apply(x) as Sym;
  const output = tf.layers.dense({ name: "keypoints", units: NUM_COORDS, kernelInitializer: init.glorot() })
    .apply(x) as Sym;
  return tf.model({ name: "resnet50", inputs: input, outputs: output });
}
