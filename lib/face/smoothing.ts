/**
 * Smoothing keypoints over time, so that they do not jitter from frame to frame on video: an exponential
 * moving average and the One-Euro filter (Casiez, Roussel & Vogel, CHI 2012), which smooths hard when a
 * point is still and little when it moves fast, so it removes jitter with little lag.
 *
 * Pure TypeScript with no Deno or npm imports: the browser page uses the same filters.
 *
 * A filter holds one state per number it is given (x and y of each keypoint), indexed by position. NaN
 * (a missing value) passes through as NaN and leaves that number's state as it was.
 *
 * @example
 * ```ts
 * import { createSmoother, parseSmoothing } from "./smoothing.ts";
 *
 * const smoother = createSmoother(parseSmoothing("one-euro"));
 * const faceWidth = 120; // pixels: the filter's speed threshold scales with the face
 * const frames = [0, 1, 2].map((i) => ({ time: i / 30, keypoints: new Float32Array(30).fill(100 + i) }));
 * for (const frame of frames) {
 *   const smooth = smoother.update(frame.keypoints, frame.time, faceWidth); // Float32Array(30)
 * }
 * ```
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";

/** A filter over a fixed-length vector of numbers, fed one sample per frame. */
export interface Smoother {
  /**
   * Filters one sample taken at `time` seconds (increasing) and returns the smoothed values (a new array).
   * `scale` is the object's size in the values' units (e.g. face width in pixels); speed-dependent filters
   * divide speeds by it so that one setting suits small and large faces. Default 1.
   */
  update(values: ArrayLike<number>, time: number, scale?: number): Float32Array;
  /** Forgets the state: the next sample is passed through unchanged. */
  reset(): void;
}

/** Which filter, with its parameters. */
export type SmoothingSpec =
  | { kind: "none" }
  | { kind: "ema"; alpha: number }
  | { kind: "one-euro"; minCutoff: number; beta: number; dCutoff: number };

/** One-Euro defaults for keypoints in pixels with `scale` = face width: 1 Hz at rest, fast when moving. */
export const ONE_EURO_DEFAULTS = { minCutoff: 1, beta: 1, dCutoff: 1 } as const;

/** Default weight of the newest sample in the exponential moving average. */
export const EMA_DEFAULT_ALPHA = 0.5;

/**
 * Exponential moving average: `s ← s + alpha · (x − s)`. `alpha` in (0, 1]: 1 = no smoothing; smaller =
 * smoother but lagging, by about `(1 − alpha) / alpha` frames.
 */
export function exponentialSmoother(alpha: number = EMA_DEFAULT_ALPHA): Smoother {
  if (!(alpha > 0 && alpha <= 1)) {
    throw new UsageError(`exponential smoothing: alpha must be in (0, 1], got ${alpha}`);
  }
  let state: Float32Array | undefined, before: Float32Array | undefined, lastTime = NaN;
  return {
    update(values, time) {
      if (!state || state.length !== values.length) state = new Float32Array(values.length).fill(NaN);
      // A second sample at the same time replaces the first.
      if (time === lastTime && before) state.set(before);
      else before = state.slice(), lastTime = time;
      const out = new Float32Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const x = values[i];
        if (Number.isNaN(x)) {
          out[i] = NaN;
          continue;
        }
        state[i] = Number.isNaN(state[i]) ? x : state[i] + alpha * (x - state[i]);
        out[i] = state[i];
      }
      return out;
    },
    reset() {
      state = undefined, before = undefined, lastTime = NaN;
    },
  };
}

/** Smoothing factor of a first-order low-pass filter with `cutoff` Hz for a step of `dt` seconds. */
function lowPassAlpha(cutoff: number, dt: number): number {
  const tau = 1 / (2 * Math.PI * cutoff);
  return 1 / (1 + tau / dt);
}

/**
 * The One-Euro filter: a low-pass filter whose cutoff rises with the (filtered) speed,
 * `cutoff = minCutoff + beta · |speed| / scale`. `minCutoff` (Hz) sets the smoothing at rest (lower =
 * smoother), `beta` how fast it lets go when the point moves (higher = less lag), `dCutoff` (Hz) filters
 * the speed estimate. Needs increasing times; a second sample at the same time replaces the first.
 */
export function oneEuroSmoother(
  opts: Partial<Omit<SmoothingSpec & { kind: "one-euro" }, "kind">> = {},
): Smoother {
  const { minCutoff, beta, dCutoff } = { ...ONE_EURO_DEFAULTS, ...opts };
  if (!(minCutoff > 0) || !(dCutoff > 0) || !(beta >= 0)) {
    throw new UsageError(
      `one-euro: minCutoff and dCutoff must be > 0 and beta ≥ 0, got ${minCutoff}, ${dCutoff}, ${beta}`,
    );
  }
  let x: Float32Array | undefined, dx: Float32Array | undefined, t: Float64Array | undefined;
  let before: [Float32Array, Float32Array, Float64Array] | undefined, lastTime = NaN;
  return {
    update(values, time, scale = 1) {
      const n = values.length;
      if (!x || x.length !== n) {
        x = new Float32Array(n).fill(NaN);
        dx = new Float32Array(n);
        t = new Float64Array(n).fill(NaN);
        before = undefined;
      }
      if (time === lastTime && before) x.set(before[0]), dx!.set(before[1]), t!.set(before[2]);
      else before = [x.slice(), dx!.slice(), t!.slice()], lastTime = time;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (Number.isNaN(v)) {
          out[i] = NaN;
          continue;
        }
        if (Number.isNaN(x[i])) {
          x[i] = v, dx![i] = 0, t![i] = time;
        } else {
          const dt = time - t![i];
          if (dt > 0) {
            const rawSpeed = (v - x[i]) / dt;
            dx![i] += lowPassAlpha(dCutoff, dt) * (rawSpeed - dx![i]);
            const cutoff = minCutoff + beta * Math.abs(dx![i]) / (scale > 0 ? scale : 1);
            x[i] += lowPassAlpha(cutoff, dt) * (v - x[i]);
            t![i] = time;
          }
        }
        out[i] = x[i];
      }
      return out;
    },
    reset() {
      x = undefined, lastTime = NaN;
    },
  };
}

/** A fresh filter for a spec ("none" returns the values unchanged). */
export function createSmoother(spec: SmoothingSpec): Smoother {
  switch (spec.kind) {
    case "none":
      return { update: (values) => Float32Array.from(values), reset() {} };
    case "ema":
      return exponentialSmoother(spec.alpha);
    case "one-euro":
      return oneEuroSmoother(spec);
  }
}

/**
 * Parses a smoothing option: `none`, `ema`, `ema:ALPHA`, `one-euro`, `one-euro:MINCUTOFF,BETA[,DCUTOFF]`.
 *
 * @example
 * ```ts
 * parseSmoothing("ema:0.3"); // { kind: "ema", alpha: 0.3 }
 * parseSmoothing("one-euro:0.5,2"); // { kind: "one-euro", minCutoff: 0.5, beta: 2, dCutoff: 1 }
 * ```
 * @throws {UsageError} naming the text when it is none of these.
 */
export function parseSmoothing(text: string): SmoothingSpec {
  const [kind, params = ""] = text.trim().toLowerCase().split(":", 2);
  const nums = params === "" ? [] : params.split(",").map((s) => Number(s));
  const bad = () =>
    new UsageError(
      `smoothing "${text}": expected none, ema[:ALPHA], or one-euro[:MINCUTOFF,BETA[,DCUTOFF]] ` +
        "with ALPHA in (0, 1], cut-offs > 0, BETA ≥ 0",
    );
  if (nums.some((v) => !Number.isFinite(v))) throw bad();
  if (kind === "none" && nums.length === 0) return { kind: "none" };
  if (kind === "ema" && nums.length <= 1) {
    const alpha = nums[0] ?? EMA_DEFAULT_ALPHA;
    if (!(alpha > 0 && alpha <= 1)) throw bad();
    return { kind: "ema", alpha };
  }
  if (
    (kind === "one-euro" || kind === "oneeuro") &&
    (nums.length === 0 || nums.length === 2 || nums.length === 3)
  ) {
    const [
      minCutoff = ONE_EURO_DEFAULTS.minCutoff,
      beta = ONE_EURO_DEFAULTS.beta,
      dCutoff = ONE_EURO_DEFAULTS.dCutoff,
    ] = nums;
    if (!(minCutoff > 0) || !(dCutoff > 0) || !(beta >= 0)) throw bad();
    return { kind: "one-euro", minCutoff, beta, dCutoff };
  }
  throw bad();
}

/**
 * Mean frame-to-frame movement of points, a measure of jitter: for each consecutive pair of frames, the
 * mean Euclidean distance between the same points (pairs with a NaN skipped), averaged over pairs.
 * Returns NaN with fewer than two frames.
 *
 * @param frames one `[x0, y0, x1, y1, …]` vector per frame.
 */
export function meanFrameToFrameMotion(frames: readonly ArrayLike<number>[]): number {
  let sum = 0, count = 0;
  for (let f = 1; f < frames.length; f++) {
    const a = frames[f - 1], b = frames[f];
    for (let i = 0; i + 1 < Math.min(a.length, b.length); i += 2) {
      const d = Math.hypot(b[i] - a[i], b[i + 1] - a[i + 1]);
      if (Number.isFinite(d)) sum += d, count++;
    }
  }
  return count > 0 ? sum / count : NaN;
}
