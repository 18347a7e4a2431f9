/**
 * The project's wasm kernels against tfjs's reference `cpu` backend: random inputs over a grid of shapes,
 * strides, paddings and kernel sizes, and a few training steps of a small conv net on both backends.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import assert from "node:assert/strict";
import { registerWasmKernels, WASM_KERNELS } from "../lib/kernels/mod.ts";
import { fmaRouting } from "../lib/kernels/fma_kernels.ts";
import { fmaEngine, installFmaEngine } from "../lib/kernels/fma_io.ts";
import { FusedAdamOptimizer } from "../lib/kernels/fused_adam.ts";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { stepLosses } from "./_train_losses.ts";
import { Rng } from "../lib/core/rng.ts";

const TOL = 1e-4;

registerWasmKernels();
installFmaEngine();

function randomArray(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

/** Runs a kernel on `backend` with plain arrays in and out. */
async function runOn(
  backend: string,
  kernel: string,
  inputs: Record<string, { data: Float32Array; shape: number[] }>,
  attrs: Record<string, unknown>,
): Promise<{ data: Float32Array; shape: number[] }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const ts: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) ts[k] = tf.tensor(v.data, v.shape);
    const out = tf.engine().runKernel(kernel, ts, attrs as tf.NamedAttrMap) as tf.Tensor;
    return { data: out.dataSync() as Float32Array, shape: out.shape };
  });
}

/**
 * Registers `fn` once per path of the wasm kernels: XNNPACK, and the relaxed-SIMD FMA kernels on every
 * shape (where the engine has relaxed SIMD); the FMA run asserts that the FMA kernels ran.
 */
function testBothPaths(name: string, fn: () => Promise<void>): void {
  Deno.test(`${name} (XNNPACK)`, async () => {
    fmaRouting.enabled = false;
    try {
      await fn();
    } finally {
      fmaRouting.enabled = true;
    }
  });
  Deno.test(`${name} (relaxed-SIMD FMA)`, async () => {
    await tf.setBackend("wasm");
    const engine = fmaEngine(tf.backend() as BackendWasm);
    assert(engine, "Deno's V8 supports relaxed SIMD: the FMA engine must load");
    const before = engine.jobs;
    const minFlops = fmaRouting.minFlops;
    fmaRouting.minFlops = 0;
    try {
      await fn();
    } finally {
      fmaRouting.minFlops = minFlops;
    }
    assert(engine.jobs > before, "the FMA kernels did not run");
  });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** cpu results by label, for tests whose inputs are the same on both paths (seeded). */
const cpuResults = new Map<string, { data: Float32Array; shape: number[] }>();

async function compare(
  kernel: string,
  inputs: Record<string, { data: Float32Array; shape: number[] }>,
  attrs: Record<string, unknown>,
  label: string,
  cacheCpu = false,
): Promise<void> {
  const want = (cacheCpu ? cpuResults.get(label) : undefined) ?? await runOn("cpu", kernel, inputs, attrs);
  if (cacheCpu) cpuResults.set(label, want);
  const got = await runOn("wasm", kernel, inputs, attrs);
  assert.deepEqual(got.shape, want.shape, `${label}: shape`);
  const diff = maxAbsDiff(got.data, want.data);
  assert(diff <= TOL, `${label}: max |wasm − cpu| = ${diff} > ${TOL}`);
}

/** [batch, height, width, inChannels, outChannels] */
const SHAPES: [number, number, number, number, number][] = [[2, 9, 9, 3, 4], [1, 8, 11, 2, 5], [
  3,
  12,
  7,
  4,
  2,
]];
const PADS = ["same", "valid", [[0, 0], [1, 2], [2, 0], [0, 0]]] as const;

function convCases(shapes = SHAPES): {
  label: string;
  b: number;
  h: number;
  w: number;
  c: number;
  o: number;
  k: number;
  s: number;
  pad: unknown;
}[] {
  const cases = [];
  for (const [b, h, w, c, o] of shapes) {
    for (const s of [1, 2, 3]) {
      for (const pad of PADS) {
        for (const k of [1, 3, 7]) {
          if (pad === "valid" && (k > h || k > w)) continue;
          if (Array.isArray(pad) && k > h) continue;
          cases.push({
            label: `x=[${b},${h},${w},${c}] k=${k} o=${o} s=${s} pad=${JSON.stringify(pad)}`,
            b,
            h,
            w,
            c,
            o,
            k,
            s,
            pad,
          });
        }
      }
    }
  }
  return cases;
}

Deno.test("our wasm kernels are registered and replace the stock ones", async () => {
  await tf.setBackend("wasm");
  for (const k of WASM_KERNELS) {
    assert.equal(tf.getKernel(k.kernelName, "wasm")?.kernelFunc, k.kernelFunc, k.kernelName);
  }
  registerWasmKernels(); // idempotent
  assert.equal(tf.getKernel("Conv2DBackpropFilter", "wasm")?.kernelFunc, WASM_KERNELS[0].kernelFunc);
});

testBothPaths(
  "Conv2DBackpropFilter matches cpu over shapes, strides, paddings and kernel sizes",
  async () => {
    const rng = new Rng(1);
    for (const t of convCases()) {
      const info = tf.backend_util.computeConv2DInfo(
        [t.b, t.h, t.w, t.c],
        [t.k, t.k, t.c, t.o],
        t.s,
        1,
        t.pad as "same",
      );
      const x = { data: randomArray(t.b * t.h * t.w * t.c, rng), shape: [t.b, t.h, t.w, t.c] };
      const dyShape = info.outShape;
      const dy = { data: randomArray(dyShape.reduce((p, d) => p * d, 1), rng), shape: dyShape };
      await compare("Conv2DBackpropFilter", { x, dy }, {
        strides: t.s,
        pad: t.pad,
        dataFormat: "NHWC",
        filterShape: [t.k, t.k, t.c, t.o],
      }, `filter grad ${t.label}`);
    }
  },
);

testBothPaths("Conv2DBackpropInput matches cpu over shapes, strides, paddings and kernel sizes", async () => {
  const rng = new Rng(2);
  for (const t of convCases()) {
    const inputShape = [t.b, t.h, t.w, t.c];
    const info = tf.backend_util.computeConv2DInfo(
      inputShape as [number, number, number, number],
      [t.k, t.k, t.c, t.o],
      t.s,
      1,
      t.pad as "same",
    );
    const filter = { data: randomArray(t.k * t.k * t.c * t.o, rng), shape: [t.k, t.k, t.c, t.o] };
    const dy = { data: randomArray(info.outShape.reduce((p, d) => p * d, 1), rng), shape: info.outShape };
    await compare("Conv2DBackpropInput", { dy, filter }, {
      strides: t.s,
      pad: t.pad,
      dataFormat: "NHWC",
      inputShape,
    }, `input grad ${t.label}`);
  }
});

Deno.test("the conv gradients of a dilated convolution are refused the same way on wasm and cpu", async () => {
  // tfjs's Conv2D gradient asserts dilation 1 before any kernel runs; our kernels never see a dilation.
  for (const backend of ["cpu", "wasm"]) {
    await tf.setBackend(backend);
    const x = tf.ones([1, 7, 7, 1]) as tf.Tensor4D;
    const f = tf.ones([3, 3, 1, 1]) as tf.Tensor4D;
    let message = "";
    try {
      tf.grad((v: tf.Tensor) => tf.sum(tf.conv2d(v as tf.Tensor4D, f, 1, "same", "NHWC", 2)))(x);
    } catch (e) {
      message = String(e);
    }
    assert(message.includes("dilation"), `${backend}: ${message}`);
    tf.dispose([x, f]);
  }
});

testBothPaths(
  "BatchMatMul matches cpu for every transpose combination, ranks 2 and 3, and reused weights",
  async () => {
    const rng = new Rng(3);
    for (const [m, k, n] of [[4, 7, 5], [32, 50, 3], [1, 9, 13], [17, 1, 6]]) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          for (const batch of [0, 1, 3]) {
            const lead = batch ? [batch] : [];
            const aShape = [...lead, ...(tA ? [k, m] : [m, k])];
            const bShape = [...lead, ...(tB ? [n, k] : [k, n])];
            const a = { data: randomArray(aShape.reduce((p, d) => p * d, 1), rng), shape: aShape };
            const b = { data: randomArray(bShape.reduce((p, d) => p * d, 1), rng), shape: bShape };
            const label = `m=${m} k=${k} n=${n} tA=${tA} tB=${tB} batch=${batch}`;
            await compare("BatchMatMul", { a, b }, { transposeA: tA, transposeB: tB }, label);
          }
        }
      }
    }
    // The same right-hand tensor used twice takes the cached-weights path the second time.
    await tf.setBackend("wasm");
    const a = tf.tensor(randomArray(6 * 40, rng), [6, 40]);
    const w = tf.tensor(randomArray(40 * 300, rng), [40, 300]);
    const first = tf.matMul(a, w).dataSync();
    const second = tf.matMul(a, w).dataSync();
    await tf.setBackend("cpu");
    const want = tf.matMul(tf.tensor(a.dataSync(), a.shape), tf.tensor(w.dataSync(), w.shape)).dataSync();
    assert(maxAbsDiff(first as Float32Array, want as Float32Array) <= TOL);
    assert(maxAbsDiff(second as Float32Array, want as Float32Array) <= TOL);
  },
);

// The FMA side runs the SIMD kernel (c/heap_simd.c) where windows do not overlap (k ≤ s), JavaScript elsewhere.
testBothPaths("MaxPoolGrad matches cpu over pool sizes, strides and paddings, with ties", async () => {
  const rng = new Rng(4);
  for (const [b, h, w, c] of [[2, 9, 9, 3], [1, 8, 11, 5], [2, 10, 9, 8], [1, 7, 6, 32]]) {
    for (const k of [1, 2, 3]) {
      for (const s of [1, 2, 3]) {
        for (const pad of ["same", "valid"] as const) {
          const info = tf.backend_util.computePool2DInfo([b, h, w, c], k, s, 1, pad);
          // Rounded to a few levels (and ReLU-clipped) so that windows hold equal maxima.
          const xs = randomArray(b * h * w * c, rng).map((v) => Math.max(0, Math.round(v * 2) / 2));
          const x = { data: xs, shape: [b, h, w, c] };
          const outData = await runOn("cpu", "MaxPool", { x }, { filterSize: k, strides: s, pad });
          const dy = { data: randomArray(outData.data.length, rng), shape: info.outShape };
          await compare(
            "MaxPoolGrad",
            { dy, input: x, output: outData },
            { filterSize: k, strides: s, pad },
            `k=${k} s=${s} ${pad} x=[${b},${h},${w},${c}]`,
          );
        }
      }
    }
  }
});

// The FMA side sums leading axes in wasm SIMD (c/heap_simd.c), the XNNPACK side in JavaScript.
testBothPaths(
  "Sum matches cpu over leading axes (bias gradients) and falls back for other axes",
  async () => {
    const rng = new Rng(5);
    for (const shape of [[4, 5, 6, 7], [3, 8], [2, 3, 1], [16, 40, 40, 9]]) {
      const x = { data: randomArray(shape.reduce((p, d) => p * d, 1), rng), shape };
      const leading = shape.slice(0, -1).map((_, i) => i);
      for (const keepDims of [false, true]) {
        await compare(
          "Sum",
          { x },
          { axis: leading, keepDims },
          `leading axes of [${shape}] keepDims=${keepDims}`,
        );
        // The stock kernel (float32 sums) is not within 1e-4 of cpu on the large shape.
        if (x.data.length > 1000) continue;
        await compare("Sum", { x }, { axis: [shape.length - 1], keepDims }, `last axis of [${shape}]`);
        await compare("Sum", { x }, { axis: shape.map((_, i) => i), keepDims }, `all axes of [${shape}]`);
      }
    }
  },
);

Deno.test("Identity on wasm shares its input's data (FMA paths on), copies it otherwise, and frees it once", async () => {
  await tf.setBackend("wasm");
  for (const share of [true, false]) {
    fmaRouting.enabled = share;
    try {
      const before = tf.memory().numBytes;
      const a = tf.tensor([1, 2, 3, 4, 5]);
      const b = tf.engine().runKernel("Identity", { x: a }) as tf.Tensor;
      assert.equal(b.dataId === a.dataId, share);
      a.dispose();
      assert.deepEqual([...b.dataSync()], [1, 2, 3, 4, 5], "the clone outlives its input");
      b.dispose();
      assert.equal(tf.memory().numBytes, before, "no data left behind");
    } finally {
      fmaRouting.enabled = true;
    }
  }
});

testBothPaths("ReLU's gradient matches cpu, zeros, negative zeros and NaN included", async () => {
  const rng = new Rng(9);
  const xs = randomArray(3 * 5 * 7 * 3, rng); // 315 values: a SIMD tail of 3
  xs[0] = 0, xs[1] = -0, xs[2] = NaN, xs[3] = Infinity, xs[4] = -Infinity;
  const dys = randomArray(xs.length, rng);
  dys[5] = NaN, dys[6] = -2;
  xs[6] = -1; // −2 · 0 = −0
  const gradOn = async (backend: string) => {
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const x = tf.tensor(xs, [3, 5, 7, 3]), dy = tf.tensor(dys, [3, 5, 7, 3]);
      return tf.grad((v: tf.Tensor) => tf.relu(v))(x, dy).dataSync() as Float32Array;
    });
  };
  const want = await gradOn("cpu"), got = await gradOn("wasm");
  for (let i = 0; i < want.length; i++) {
    const same = Object.is(got[i], want[i]) || Math.abs(got[i] - want[i]) <= TOL;
    assert(same, `element ${i} (x=${xs[i]}, dy=${dys[i]}): wasm ${got[i]}, cpu ${want[i]}`);
  }
});

/** Five Adam steps on three variables (sizes with and without a SIMD tail), the learning rate changed once. */
async function adamRun(
  backend: string,
  make: () => tf.AdamOptimizer,
): Promise<{ weights: Float32Array[]; state: { name: string; data: Float32Array }[] }> {
  await tf.setBackend(backend);
  const rng = new Rng(8);
  const shapes = [[7], [5, 3], [33, 4]];
  const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
  const vars = shapes.map((s) => tf.variable(tf.tensor(randomArray(size(s), rng), s)));
  const optimizer = make();
  for (let step = 0; step < 5; step++) {
    if (step === 3) (optimizer as unknown as { learningRate: number }).learningRate = 0.05;
    const grads = vars.map((v) => ({ name: v.name, tensor: tf.tensor(randomArray(v.size, rng), v.shape) }));
    // Both forms tfjs accepts: an array of named tensors and a map from variable name.
    const map = Object.fromEntries(grads.map((g) => [g.name, g.tensor])) as unknown as Parameters<
      tf.AdamOptimizer["applyGradients"]
    >[0];
    optimizer.applyGradients(step % 2 ? grads : map);
    tf.dispose(grads.map((g) => g.tensor));
  }
  const weights = vars.map((v) => v.dataSync() as Float32Array);
  const state = (await optimizer.getWeights()).map((w) => ({
    name: w.name.replace(/^.*\//, "…/"), // variable names differ between the runs
    data: w.tensor.dataSync() as Float32Array,
  }));
  const betas = optimizer as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
  state.push({ name: "accBeta1", data: betas.accBeta1.dataSync() as Float32Array });
  state.push({ name: "accBeta2", data: betas.accBeta2.dataSync() as Float32Array });
  optimizer.dispose();
  tf.dispose(vars);
  return { weights, state };
}

testBothPaths("FusedAdamOptimizer follows tfjs's Adam on cpu: weights, moments and β powers", async () => {
  const want = await adamRun("cpu", () => tf.train.adam(0.01));
  const got = await adamRun("wasm", () => new FusedAdamOptimizer(0.01));
  assert.deepEqual(got.state.map((s) => s.name), want.state.map((s) => s.name));
  for (const [i, w] of want.weights.entries()) {
    assert(maxAbsDiff(got.weights[i], w) <= TOL, `variable ${i}: ${maxAbsDiff(got.weights[i], w)}`);
  }
  for (const [i, s] of want.state.entries()) {
    const diff = maxAbsDiff(got.state[i].data, s.data);
    assert(diff <= TOL, `${s.name}: max |wasm − cpu| = ${diff}`);
  }
});

/** A small conv net with fixed weights: conv (stride 2, same) + max-pool + conv + avg-pool + dense. */
function smallNet(weights: tf.Tensor[] | undefined): tf.LayersModel {
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({ inputShape: [20, 20, 1], filters: 4, kernelSize: 3, strides: 2, padding: "same" }),
  );
  m.add(tf.layers.leakyReLU({ alpha: 0.1 }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: "valid", activation: "relu" }));
  m.add(tf.layers.averagePooling2d({ poolSize: 2, padding: "same" }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 8, activation: "relu" }));
  m.add(tf.layers.dense({ units: 4 }));
  if (weights) m.setWeights(weights);
  return m;
}

async function lossCurve(backend: string, steps: number, optimizer: () => tf.Optimizer): Promise<number[]> {
  await tf.setBackend(backend);
  const rng = new Rng(7);
  // Fixed initial weights from the seeded generator, the same on both backends.
  const shapes = smallNet(undefined).getWeights().map((w) => w.shape);
  const weights = shapes.map((s) =>
    tf.tensor(randomArray(s.reduce((p, d) => p * d, 1), rng).map((v) => v * 0.5), s)
  );
  const model = smallNet(weights);
  const x = tf.tensor(randomArray(6 * 20 * 20, rng), [6, 20, 20, 1]);
  const y = tf.tensor(randomArray(6 * 4, rng), [6, 4]);
  const mask = tf.tensor(Float32Array.from({ length: 24 }, (_, i) => (i % 5 === 0 ? 0 : 1)), [6, 4]);
  const opt = optimizer();
  const losses = await stepLosses(model, opt, { x, y, mask }, steps);
  tf.dispose([x, y, mask, ...weights]);
  opt.dispose();
  model.dispose();
  return losses;
}

testBothPaths("a small conv net trains to the same loss curve on wasm and cpu (SGD, then Adam)", async () => {
  const sgd = () => tf.train.sgd(0.05);
  const cpu = await lossCurve("cpu", 5, sgd);
  const wasm = await lossCurve("wasm", 5, sgd);
  assert(cpu[4] < cpu[0], `the loss should fall: ${cpu}`);
  for (let i = 0; i < cpu.length; i++) {
    assert(
      Math.abs(cpu[i] - wasm[i]) <= 1e-4 * Math.max(1, cpu[i]),
      `SGD step ${i}: cpu ${cpu} wasm ${wasm}`,
    );
  }
  // Adam divides by √v, so float rounding in gradients near zero moves a weight by up to the learning
  // rate: the curves agree to a looser tolerance.
  const adam = () => tf.train.adam(0.01);
  const cpuAdam = await lossCurve("cpu", 5, adam);
  const wasmAdam = await lossCurve("wasm", 5, adam);
  for (let i = 0; i < cpuAdam.length; i++) {
    const tol = 1e-2 * Math.max(1, cpuAdam[i]);
    assert(Math.abs(cpuAdam[i] - wasmAdam[i]) <= tol, `Adam step ${i}: cpu ${cpuAdam} wasm ${wasmAdam}`);
  }
});
