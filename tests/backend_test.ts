/**
 * `lib/backend_io.ts`: explicit choice, the FKD_BACKEND variable, the report's reasons, bad names.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend_io.ts";
import { UsageError } from "../lib/core/errors.ts";

function withEnv<T>(value: string | undefined, f: () => Promise<T>): Promise<T> {
  const old = Deno.env.get("FKD_BACKEND");
  if (value === undefined) Deno.env.delete("FKD_BACKEND");
  else Deno.env.set("FKD_BACKEND", value);
  return f().finally(() =>
    old === undefined ? Deno.env.delete("FKD_BACKEND") : Deno.env.set("FKD_BACKEND", old)
  );
}

Deno.test("an explicit backend is started and reported, and a repeat call is idempotent", async () => {
  const report = await initBackend({ backend: "wasm", threads: 2 });
  assert.equal(report.backend, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.equal(report.source, "option");
  assert.equal(report.threads, 2, `threaded wasm did not start: ${JSON.stringify(report.reasons)}`);
  assert.ok(report.kernels.includes("Conv2DBackpropFilter"));
  assert.ok(tf.getKernel("Conv2DBackpropFilter", "wasm"), "our kernel is registered");
  assert.equal(await initBackend({ backend: "wasm", threads: 2 }), report);
  // Gradients on two threads equal the cpu backend's.
  const grads = () =>
    tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from({ length: 2 * 9 * 9 * 3 }, (_, i) => Math.sin(i)), [
        2,
        9,
        9,
        3,
      ]);
      const f = tf.tensor4d(Float32Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)), [
        3,
        3,
        3,
        4,
      ]);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "same")))
      )([x, f]);
      return g.map((t) => Array.from(t.dataSync()));
    });
  const onWasm = grads();
  const cpu = await initBackend({ backend: "cpu" });
  assert.equal(cpu.backend, "cpu");
  assert.equal(tf.getBackend(), "cpu");
  const onCpu = grads();
  for (let i = 0; i < onCpu.length; i++) {
    onCpu[i].forEach((v, j) =>
      assert.ok(Math.abs(v - onWasm[i][j]) <= 1e-3 * Math.max(1, Math.abs(v)), `grad ${i}`)
    );
  }
});

Deno.test("FKD_BACKEND names the backend; the option overrides it", async () => {
  await withEnv("cpu", async () => {
    const r = await initBackend();
    assert.equal(r.backend, "cpu");
    assert.equal(r.source, "env FKD_BACKEND");
    assert.equal((await initBackend({ backend: "wasm" })).backend, "wasm");
  });
});

Deno.test("the default order skips a software or missing WebGPU adapter with a reason, then runs wasm", async () => {
  await withEnv(undefined, async () => {
    const r = await initBackend();
    if (r.backend === "webgpu") return; // a real GPU here: nothing was passed over
    assert.equal(r.backend, "wasm");
    assert.equal(r.source, "default order");
    assert.match(r.reasons.webgpu ?? "", /adapter|navigator\.gpu/);
    assert.equal(r.simd, true);
  });
});

async function errorOf(p: () => Promise<unknown>): Promise<unknown> {
  try {
    await p();
  } catch (e) {
    return e;
  }
  return undefined;
}

Deno.test("a bad name is a UsageError naming the valid ones, from the option or the variable", async () => {
  const fromOption = await errorOf(() => initBackend({ backend: "tpu" as "cpu" }));
  assert.ok(fromOption instanceof UsageError, String(fromOption));
  assert.match(fromOption.message, /"tpu".*webgpu, wasm, cpu/);
  const fromEnv = await withEnv("gpu", () => errorOf(() => initBackend()));
  assert.ok(fromEnv instanceof UsageError, String(fromEnv));
  assert.match(fromEnv.message, /"gpu" \(from FKD_BACKEND\)/);
});
