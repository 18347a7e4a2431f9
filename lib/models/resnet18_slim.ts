/**
 * `resnet18-slim`: the project's own regression network for faces in the wild, sized for training on two CPU
 * cores. It keeps ResNet-18's design (a stem, then stages of basic residual blocks, batch normalisation after
 * every convolution, 1×1 projection shortcuts, global average pooling, one linear head) with fewer blocks at
 * high resolution and most of the width at 12×12 and 6×6, where convolutions are cheap:
 *
 * | layer | output | parameters |
 * |---|---|---|
 * | input | 96×96×1 | 0 |
 * | stem conv 3×3/2 → BN → ReLU | 48×48×16 | 208 |
 * | stage 1: 1 basic block | 48×48×16 | 4,736 |
 * | stage 2: 1 basic block (/2) | 24×24×32 | 14,720 |
 * | stage 3: 2 basic blocks (first /2) | 12×12×96 | 281,472 |
 * | stage 4: 2 basic blocks (first /2) | 6×6×192 | 1,183,488 |
 * | global average pool → dense 30, linear | 30 | 5,790 |
 * | **total** (BN moving statistics included, as Keras counts) | | **1,490,414** (1,487,246 trainable) |
 *
 * Why this shape: measured with `trainStep` on wasm (2 threads, batch 32, a busy machine), a quarter-width
 * ResNet-18 ([1, 2, 2, 2] blocks of 24–192 channels from 48×48) trained at 8 images/s, this one at 26, as
 * fast as the thesis's LeNet (21) with a quarter of its parameters: 3×3 convolutions on few channels at
 * 48×48 cost the engine far more than their multiply-adds suggest. Depthwise convolutions (MobileNetV2) are
 * out: tfjs 4.22 has no wasm kernel for their gradients.
 *
 * Outputs are the 30 keypoint coordinates in normalised units `(p − 48) / 48`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { IMAGE_SIZE, NUM_COORDS } from "../core/constants.ts";
import { SeededInit } from "./init.ts";

/** Parameter count of {@link createResnet18Slim} (a test checks it). */
export const RESNET18_SLIM_PARAMS = 1_490_414;

type Sym = tf.SymbolicTensor;

/** Channels of the stem and the four stages. */
const DEFAULT_WIDTHS = [16, 16, 32, 96, 192] as const;
/** Basic blocks per stage. */
const DEFAULT_BLOCKS = [1, 1, 2, 2] as const;

function convBn(x: Sym, init: SeededInit, name: string, filters: number, kernel: number, strides = 1): Sym {
  const y = tf.layers.conv2d({
    name: `${name}_conv`,
    filters,
    kernelSize: kernel,
    strides,
    padding: "same",
    useBias: false, // the batch norm's offset replaces it
    kernelInitializer: init.he(),
  }).apply(x) as Sym;
  return tf.layers.batchNormalization({ name: `${name}_bn`, axis: 3 }).apply(y) as Sym;
}

/** ResNet's basic block: 3×3 (stride s) → BN → ReLU → 3×3 → BN, plus the identity or a 1×1 projection. */
function basicBlock(x: Sym, init: SeededInit, name: string, filters: number, strides: number): Sym {
  let y = convBn(x, init, `${name}_1`, filters, 3, strides);
  y = tf.layers.reLU({ name: `${name}_1_relu` }).apply(y) as Sym;
  y = convBn(y, init, `${name}_2`, filters, 3);
  const inChannels = x.shape[3];
  const shortcut = strides !== 1 || inChannels !== filters
    ? convBn(x, init, `${name}_0`, filters, 1, strides)
    : x;
  const sum = tf.layers.add({ name: `${name}_add` }).apply([shortcut, y]) as Sym;
  return tf.layers.reLU({ name: `${name}_out` }).apply(sum) as Sym;
}

/**
 * Builds `resnet18-slim` (1,490,414 parameters; see the module doc for the layers). `widths` (stem and four
 * stages) and `blocks` (per stage) change the shape for experiments; the registry's model uses the defaults.
 *
 * @example
 * ```ts
 * const model = createResnet18Slim({ seed: 0 });
 * model.outputs[0].shape; // [null, 30]
 * ```
 */
export function createResnet18Slim(
  config: { seed?: number; widths?: readonly number[]; blocks?: readonly number[] } = {},
): tf.LayersModel {
  const init = new SeededInit(config.seed);
  const WIDTHS = config.widths ?? DEFAULT_WIDTHS, BLOCKS = config.blocks ?? DEFAULT_BLOCKS;
  const input = tf.input({ name: "image", shape: [IMAGE_SIZE, IMAGE_SIZE, 1] });
  let x = convBn(input, init, "stem", WIDTHS[0], 3, 2);
  x = tf.layers.reLU({ name: "stem_relu" }).apply(x) as Sym;
  BLOCKS.forEach((blocks, s) => {
    for (let b = 0; b < blocks; b++) {
      x = basicBlock(x, init, `stage${s + 1}_block${b + 1}`, WIDTHS[s + 1], b === 0 && s > 0 ? 2 : 1);
    }
  });
  x = tf.layers.globalAveragePooling2d({ name: "pool" }).apply(x) as Sym;
  const output = tf.layers.dense({ name: "keypoints", units: NUM_COORDS, kernelInitializer: init.glorot() })
    .apply(x) as Sym;
  return tf.model({ name: "resnet18-slim", inputs: input, outputs: output });
}
