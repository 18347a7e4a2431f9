/**
 * `lib/train/train_step.ts`: micro-batch gradient accumulation equals the full batch, batch-norm moving
 * statistics move in a custom loop, and the wasm heap planner.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { accumulateGradients, maskedMse, pickMicroBatch, trainStep } from "../lib/train/train_step.ts";
import { UsageError } from "../lib/core/errors.ts";

await tf.setBackend("cpu");

function smallNet(seed: number, batchNorm = false): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed + s });
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 3, kernelSize: 3, kernelInitializer: init(1) }));
  if (batchNorm) m.add(tf.layers.batchNormalization({ momentum: 0.5 }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 4, kernelInitializer: init(2) }));
  return m;
}

function batchOf(n: number) {
  return tf.tidy(() => {
    const x = tf.randomUniform([n, 12, 12, 1], 0, 1, "float32", 1) as tf.Tensor4D;
    const y = tf.randomUniform([n, 4], -1, 1, "float32", 2) as tf.Tensor2D;
    // Uneven masks so that a plain mean of micro-batch means would differ from the full-batch mean.
    const mask = tf.tensor2d(Float32Array.from({ length: n * 4 }, (_, i) => (i < 4 || i % 3 ? 1 : 0)), [
      n,
      4,
    ]);
    return { x, y: tf.mul(y, mask) as tf.Tensor2D, mask };
  });
}

Deno.test("micro-batch accumulated loss and gradients equal the full batch's", () => {
  const model = smallNet(3);
  const batch = batchOf(7);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const full = tf.variableGrads(
    () => maskedMse(model.apply(batch.x) as tf.Tensor, batch.y, batch.mask),
    vars,
  );
  for (const micro of [1, 3, 7]) {
    const acc = accumulateGradients(model, batch, micro);
    assert.ok(Math.abs(acc.loss - full.value.dataSync()[0]) < 1e-6, `micro ${micro}: loss`);
    for (const [name, g] of Object.entries(full.grads)) {
      const diff = tf.max(tf.abs(tf.sub(g, acc.grads[name]))).dataSync()[0];
      assert.ok(diff < 1e-6, `micro ${micro}: gradient ${name} differs by ${diff}`);
    }
    tf.dispose(Object.values(acc.grads));
  }
});

Deno.test("trainStep with microBatch updates weights like the full batch (SGD)", () => {
  const a = smallNet(5);
  const b = smallNet(5);
  const batch = batchOf(6);
  const la = trainStep(a, tf.train.sgd(0.1), batch);
  const lb = trainStep(b, tf.train.sgd(0.1), batch, { microBatch: 4 });
  assert.ok(Math.abs(la - lb) < 1e-6);
  const wa = a.getWeights(), wb = b.getWeights();
  for (let i = 0; i < wa.length; i++) {
    assert.ok(tf.max(tf.abs(tf.sub(wa[i], wb[i]))).dataSync()[0] < 1e-6, `weight ${i}`);
  }
  assert.throws(() => trainStep(a, tf.train.sgd(0.1), batch, { microBatch: 0 }), UsageError);
  assert.equal(trainStep(a, tf.train.sgd(0.1), batch, { microBatch: "auto" }) > 0, true);
});

Deno.test("batch-norm moving statistics move when training through model.apply in a custom loop", () => {
  const model = smallNet(9, true);
  const bn = model.layers.find((l) => l.getClassName() === "BatchNormalization")!;
  const before = bn.getWeights().map((w) => w.dataSync().slice());
  trainStep(model, tf.train.sgd(0.01), batchOf(5), { microBatch: 2 });
  const after = bn.getWeights().map((w) => w.dataSync());
  // Weights: gamma, beta, moving mean, moving variance.
  assert.notDeepEqual(Array.from(after[2]), Array.from(before[2]), "moving mean unchanged");
  assert.notDeepEqual(Array.from(after[3]), Array.from(before[3]), "moving variance unchanged");
});

Deno.test("pickMicroBatch splits a model that would overflow the heap, and refuses one that never fits", () => {
  const model = smallNet(1);
  assert.equal(pickMicroBatch(model, 32).microBatch, 32);
  const { bytesPerImage, fixedBytes } = pickMicroBatch(model, 32);
  // A heap with room for ~10 images (at the 0.85 margin): 32 images go in 4 passes of 8.
  const heap = (fixedBytes + 10.5 * bytesPerImage) / 0.85;
  assert.equal(pickMicroBatch(model, 32, { heapBytes: heap }).microBatch, 8);
  assert.throws(
    () => pickMicroBatch(model, 32, { heapBytes: fixedBytes }),
    (e: Error) => /does not fit/.test(e.message) && /smaller model|another backend/.test(e.message),
  );
});
