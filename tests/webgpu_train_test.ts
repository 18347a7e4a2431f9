/**
 * Training on the webgpu backend is correct: a small conv net (conv, batch norm, max-pool, strided conv,
 * dense) with the same initial weights trains a few SGD steps on webgpu and on wasm, and the losses agree.
 * The training loop itself (batches, validation) runs on webgpu too. Without a GPU this runs on the software adapter (Debian's mesa-vulkan-drivers: llvmpipe); where no
 * adapter exists at all the test is ignored, and says so.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend_io.ts";
import { stepLosses } from "./_train_losses.ts";
import { train } from "../lib/train/train_io.ts";
import { syntheticDataset } from "../lib/data/synthetic.ts";
import { Rng } from "../lib/core/rng.ts";

if (!Deno.env.get("XDG_RUNTIME_DIR")) Deno.env.set("XDG_RUNTIME_DIR", "/tmp"); // quiets the Vulkan loader
const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
const adapter = gpu ? await gpu.requestAdapter() : null;
if (!adapter) {
  console.warn("webgpu_train_test: no WebGPU adapter (apt-get install mesa-vulkan-drivers): ignored");
}

function net(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [24, 24, 1], filters: 8, kernelSize: 3, padding: "same" }));
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.reLU());
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 12, kernelSize: 3, strides: 2, activation: "relu" }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 16, activation: "relu" }));
  m.add(tf.layers.dense({ units: 6 }));
  return m;
}

/** Losses of `steps` SGD steps from seeded weights and data, identical on every backend. */
async function lossCurve(steps: number): Promise<number[]> {
  const rng = new Rng(3);
  const random = (shape: number[], scale = 1) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => rng.uniform(-scale, scale)),
      shape,
    );
  const model = net();
  // Kernels and biases random; batch norm as initialised (gamma 1, beta 0, moving mean 0, variance 1).
  model.setWeights(model.getWeights().map((w) => w.shape.length > 1 ? random(w.shape, 0.2) : tf.clone(w)));
  const x = random([8, 24, 24, 1]), y = random([8, 6]);
  const mask = tf.onesLike(y);
  const opt = tf.train.sgd(0.02);
  const losses = await stepLosses(model, opt, { x, y, mask }, steps);
  tf.dispose([x, y, mask]);
  opt.dispose();
  model.dispose();
  return losses;
}

Deno.test({
  name: "a small conv net trains to the same losses on webgpu as on wasm",
  ignore: !adapter,
  // The webgpu backend keeps its device and buffer pools for the life of the process.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const gpuReport = await initBackend({ backend: "webgpu" });
    assert.equal(gpuReport.backend, "webgpu");
    const onGpu = await lossCurve(5);
    await initBackend({ backend: "wasm", threads: 1 });
    const onWasm = await lossCurve(5);
    console.log(`losses: webgpu ${onGpu}\n        wasm   ${onWasm}`);
    assert(onWasm[4] < onWasm[0], `the loss should fall: ${onWasm}`);
    for (let i = 0; i < onWasm.length; i++) {
      assert(
        Math.abs(onGpu[i] - onWasm[i]) <= 1e-4 * Math.max(1, onWasm[i]),
        `step ${i}: webgpu ${onGpu} wasm ${onWasm}`,
      );
    }
  },
});

Deno.test({
  name: "train() runs its epochs and validation on webgpu (no synchronous GPU reads)",
  ignore: !adapter,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initBackend({ backend: "webgpu" });
    const build = () => {
      const m = tf.sequential();
      m.add(tf.layers.conv2d({ inputShape: [96, 96, 1], filters: 4, kernelSize: 3, strides: 4 }));
      m.add(tf.layers.flatten());
      m.add(tf.layers.dense({ units: 30 }));
      return m;
    };
    const data = syntheticDataset({ n: 40, seed: 2 });
    const result = await train(data, { model: "tiny", build, epochs: 2, batchSize: 8, validation: 0.2 });
    assert.equal(tf.getBackend(), "webgpu");
    assert.equal(result.history.length, 2);
    assert(result.history.every((h) => Number.isFinite(h.loss) && Number.isFinite(h.val_rmse_px)));
    assert(result.history[1].loss < result.history[0].loss, JSON.stringify(result.history));
    result.model.dispose();
  },
});
