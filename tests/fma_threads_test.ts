/**
 * The relaxed-SIMD FMA kernels on the pthreads wasm binary: the engine runs on the backend's shared heap
 * with a helper thread, and its products still equal the cpu backend's.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { initBackend } from "../lib/backend_io.ts";
import { fmaEngine } from "../lib/kernels/fma_io.ts";
import { fmaRouting } from "../lib/kernels/fma_kernels.ts";
import { Rng } from "../lib/core/rng.ts";

function random(shape: number[], rng: Rng): tf.Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.uniform(-1, 1)), shape);
}

/** The kernel's result on wasm (FMA path forced) and on cpu, as arrays. */
async function both(run: () => tf.Tensor): Promise<{ wasm: Float32Array; cpu: Float32Array }> {
  await tf.setBackend("wasm");
  const minFlops = fmaRouting.minFlops;
  fmaRouting.minFlops = 0;
  let wasm: Float32Array;
  try {
    wasm = tf.tidy(run).dataSync() as Float32Array;
  } finally {
    fmaRouting.minFlops = minFlops;
  }
  await tf.setBackend("cpu");
  const cpu = tf.tidy(run).dataSync() as Float32Array;
  return { wasm, cpu };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("with two wasm threads the FMA engine runs on two threads and matches cpu", async () => {
  const report = await initBackend({ backend: "wasm", threads: 2 });
  assert.equal(report.threads, 2);
  assert.equal(report.fma, "on, 2 thread(s)");
  const engine = fmaEngine(tf.backend() as BackendWasm)!;
  assert.equal(engine.threads, 2);
  const before = engine.jobs;
  const rng = new Rng(11);
  // Shapes with many work units, so that both threads take some; odd sizes exercise the tile edges.
  const x = random([5, 23, 21, 7], rng), dy = random([5, 21, 19, 13], rng);
  const a = random([37, 300], rng), b = random([300, 45], rng);
  const inputs = [x, dy, a, b].map((t) => ({ data: t.dataSync(), shape: t.shape }));
  tf.dispose([x, dy, a, b]);
  const filterGrad = await both(() =>
    tf.engine().runKernel("Conv2DBackpropFilter", {
      x: tf.tensor(inputs[0].data, inputs[0].shape),
      dy: tf.tensor(inputs[1].data, inputs[1].shape),
    }, { strides: 1, pad: "valid", dataFormat: "NHWC", filterShape: [3, 3, 7, 13] }) as tf.Tensor
  );
  const product = await both(() =>
    tf.matMul(tf.tensor(inputs[2].data, inputs[2].shape), tf.tensor(inputs[3].data, inputs[3].shape))
  );
  assert(maxAbsDiff(filterGrad.wasm, filterGrad.cpu) <= 1e-4, "filter gradient");
  assert(maxAbsDiff(product.wasm, product.cpu) <= 1e-4, "matrix product");
  assert.equal(engine.jobs - before, 2);
});
