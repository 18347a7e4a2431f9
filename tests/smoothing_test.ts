import assert from "node:assert/strict";
import { UsageError } from "../lib/core/errors.ts";
import {
  createSmoother,
  exponentialSmoother,
  meanFrameToFrameMotion,
  oneEuroSmoother,
  parseSmoothing,
} from "../lib/face/smoothing.ts";
import { Rng } from "../lib/core/rng.ts";

Deno.test("ema: first sample passes through, then s += alpha (x - s)", () => {
  const s = exponentialSmoother(0.5);
  assert.deepEqual([...s.update([10, 20], 0)], [10, 20]);
  assert.deepEqual([...s.update([20, 20], 1)], [15, 20]);
  assert.deepEqual([...s.update([20, 20], 2)], [17.5, 20]);
  s.reset();
  assert.deepEqual([...s.update([0, 0], 3)], [0, 0]);
});

Deno.test("ema: NaN passes through and keeps the state; a repeated time replaces the sample", () => {
  const s = exponentialSmoother(0.5);
  s.update([0, 0], 0);
  const out = s.update([NaN, 4], 1);
  assert.ok(Number.isNaN(out[0]));
  assert.equal(out[1], 2);
  assert.equal(s.update([4, 4], 2)[0], 2); // x0's state was still 0
  assert.equal(s.update([8, 4], 2)[0], 4); // replaces the sample at t = 2: 0 + 0.5 · 8
});

Deno.test("ema: alpha out of (0, 1] is refused", () => {
  assert.throws(() => exponentialSmoother(0), UsageError);
  assert.throws(() => exponentialSmoother(1.5), UsageError);
});

Deno.test("one-euro: removes jitter on a still point, follows a fast move with less lag than an equally smooth EMA", () => {
  const rng = new Rng(1);
  const fps = 30, n = 300;
  const still = Array.from({ length: n }, () => [100 + 2 * rng.normal(), 50 + 2 * rng.normal()]);
  const euro = oneEuroSmoother({ minCutoff: 1, beta: 1 });
  const ema = exponentialSmoother(0.2);
  const rawJitter = meanFrameToFrameMotion(still);
  const euroOut = still.map((p, i) => euro.update(p, i / fps, 100));
  const emaOut = still.map((p, i) => ema.update(p, i / fps));
  assert.ok(meanFrameToFrameMotion(euroOut) < rawJitter / 2, "one-euro halves jitter at rest");
  assert.ok(meanFrameToFrameMotion(emaOut) < rawJitter / 2, "ema halves jitter at rest");
  // A ramp of 10 face widths per second: the one-euro filter opens up, the EMA lags behind.
  const e2 = oneEuroSmoother({ minCutoff: 1, beta: 1 }), m2 = exponentialSmoother(0.2);
  let euroLag = 0, emaLag = 0;
  for (let i = 0; i < 30; i++) {
    const x = 1000 * (i / fps);
    euroLag = x - e2.update([x, 0], i / fps, 100)[0];
    emaLag = x - m2.update([x, 0], i / fps)[0];
  }
  assert.ok(euroLag < emaLag / 2, `one-euro lag ${euroLag} px vs ema ${emaLag} px`);
});

Deno.test("one-euro: a repeated time replaces the sample; parameters are checked", () => {
  const s = oneEuroSmoother();
  s.update([0], 0);
  const a = s.update([10], 0.1)[0];
  const b = s.update([10], 0.1)[0];
  assert.equal(a, b);
  assert.throws(() => oneEuroSmoother({ minCutoff: 0 }), UsageError);
  assert.throws(() => oneEuroSmoother({ beta: -1 }), UsageError);
});

Deno.test("parseSmoothing: names, parameters and errors", () => {
  assert.deepEqual(parseSmoothing("none"), { kind: "none" });
  assert.deepEqual(parseSmoothing("ema"), { kind: "ema", alpha: 0.5 });
  assert.deepEqual(parseSmoothing("ema:0.3"), { kind: "ema", alpha: 0.3 });
  assert.deepEqual(parseSmoothing("one-euro"), { kind: "one-euro", minCutoff: 1, beta: 1, dCutoff: 1 });
  assert.deepEqual(parseSmoothing("one-euro:0.5,2"), {
    kind: "one-euro",
    minCutoff: 0.5,
    beta: 2,
    dCutoff: 1,
  });
  for (const bad of ["ema:0", "ema:x", "one-euro:1", "kalman", "none:1"]) {
    assert.throws(
      () => parseSmoothing(bad),
      (e: Error) => e instanceof UsageError && e.message.includes(bad),
    );
  }
  assert.deepEqual([...createSmoother({ kind: "none" }).update([1, NaN], 0)], [1, NaN]);
});

Deno.test("meanFrameToFrameMotion: mean point displacement between consecutive frames", () => {
  assert.equal(meanFrameToFrameMotion([[0, 0, 0, 0], [3, 4, 0, 0]]), 2.5);
  assert.equal(meanFrameToFrameMotion([[0, 0, NaN, 0], [3, 4, 1, 1]]), 5);
  assert.ok(Number.isNaN(meanFrameToFrameMotion([[0, 0]])));
});
