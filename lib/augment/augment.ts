/**
 * Keypoint-aware augmentation of 96×96 faces, in the style of albumentations: a transform is a small object
 * with its parameters and probability, and {@link compose} applies a list of them to an image and its 15
 * keypoints together, seeded and replayable.
 *
 * Geometry is correct by construction:
 * - every geometric transform is an affine matrix in the pixel-centre convention of `lib/data/types.ts`
 *   (centre of the top-left pixel = (0, 0), image centre = (47.5, 47.5)); consecutive geometric transforms
 *   are multiplied into ONE matrix, so the image is resampled once (bilinear, inverse mapping);
 * - keypoints go through the same forward matrix, x and y both from the original coordinates;
 * - a horizontal flip (`x' = 95 − x`) also swaps the 6 left/right keypoint pairs, so `left_eye_center`
 *   still names the subject's left eye afterwards;
 * - a missing keypoint (NaN) stays missing, and a keypoint pushed outside the frame becomes missing; it is
 *   never clipped to the border;
 * - a draw that would push a present eye centre out of the frame can be rejected and redrawn.
 *
 * @example
 * ```ts
 * import { compose, horizontalFlip, rotate, brightness } from "./augment.ts";
 * import { Rng } from "../core/rng.ts";
 * import { syntheticDataset } from "../data/synthetic.ts";
 * const { images, keypoints: points } = syntheticDataset({ n: 1, seed: 0 }); // one 96×96 face
 * const aug = compose([horizontalFlip({ p: 0.5 }), rotate({ p: 1, limit: 15 }), brightness({ limit: 0.1 })]);
 * const { image, keypoints } = aug.apply(images, points, new Rng(0)); // new arrays; inputs untouched
 * ```
 *
 * @module
 */
import { IMAGE_SIZE, NUM_COORDS, NUM_KEYPOINTS } from "../core/constants.ts";
import { swapLeftRight } from "../core/flip.ts";
import { maskFromKeypoints } from "../data/dataset.ts";
import { PIXELS } from "../core/constants.ts";
import type { KeypointDataset } from "../data/types.ts";
import { UsageError } from "../core/errors.ts";
import { Rng } from "../core/rng.ts";

// ---------------------------------------------------------------------------------------------------------
// Affine matrices
// ---------------------------------------------------------------------------------------------------------

/** A 2-D affine map `[a, b, c, d, e, f]`: `x' = a·x + b·y + c`, `y' = d·x + e·y + f` (96×96 pixel units). */
export type Affine = readonly [number, number, number, number, number, number];

/** The identity map. */
export const IDENTITY: Affine = [1, 0, 0, 0, 1, 0];

/** Centre of the 96×96 frame in the pixel-centre convention. */
const CENTRE = (IMAGE_SIZE - 1) / 2;

/** Largest pixel index (95): the mirror of x is `MAX_INDEX − x`. */
const MAX_INDEX = IMAGE_SIZE - 1;

/** `outer ∘ inner`: first `inner`, then `outer`. */
export function composeAffine(outer: Affine, inner: Affine): Affine {
  const [a, b, c, d, e, f] = outer;
  const [p, q, r, s, t, u] = inner;
  return [a * p + b * s, a * q + b * t, a * r + b * u + c, d * p + e * s, d * q + e * t, d * r + e * u + f];
}

/** The inverse map; throws a `UsageError` for a singular matrix (e.g. scale 0). */
export function invertAffine(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (!(Math.abs(det) > 1e-12)) throw new UsageError(`affine matrix [${m.join(", ")}] is not invertible`);
  const ia = e / det, ib = -b / det, id = -d / det, ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

/** Mirror left↔right: `x' = 95 − x`. */
export function flipMatrix(): Affine {
  return [-1, 0, MAX_INDEX, 0, 1, 0];
}

/**
 * Rotation by `degrees` about the image centre; positive turns the face counter-clockwise as seen on screen
 * (OpenCV's `getRotationMatrix2D` convention, with y pointing down).
 */
export function rotationMatrix(degrees: number): Affine {
  const t = degrees * Math.PI / 180;
  const cos = Math.cos(t), sin = Math.sin(t);
  // x' = cx + cos·(x−cx) + sin·(y−cy);  y' = cy − sin·(x−cx) + cos·(y−cy)
  return [cos, sin, CENTRE - cos * CENTRE - sin * CENTRE, -sin, cos, CENTRE + sin * CENTRE - cos * CENTRE];
}

/** Zoom by `factor` about the image centre (> 1 enlarges the face). */
export function scaleMatrix(factor: number): Affine {
  return [factor, 0, CENTRE * (1 - factor), 0, factor, CENTRE * (1 - factor)];
}

/** Translation by `(dx, dy)` pixels. */
export function shiftMatrix(dx: number, dy: number): Affine {
  return [1, 0, dx, 0, 1, dy];
}

/** True where a point lies on the 96×96 frame: within [−0.5, 95.5], the area the pixels cover. */
export function inFrame(x: number, y: number, margin = 0): boolean {
  const lo = -0.5 + margin, hi = IMAGE_SIZE - 0.5 - margin;
  return x >= lo && x <= hi && y >= lo && y <= hi;
}

// ---------------------------------------------------------------------------------------------------------
// Transforms
// ---------------------------------------------------------------------------------------------------------

/** A transform that moves pixels: it draws an affine matrix, applied to image and keypoints together. */
export interface GeometricTransform {
  readonly kind: "geometric";
  /** Short name for logs and plans, e.g. `"rotate"`. */
  readonly name: string;
  /** Probability that the transform is applied to a given face. */
  readonly p: number;
  /** The parameters it was built with (for logs and checkpoint metadata). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Draws the forward matrix, and whether it mirrors the face (then left/right keypoints swap). */
  draw(rng: Rng): { matrix: Affine; mirrored: boolean };
}

/** A transform that changes pixel values only; keypoints never move. */
export interface PixelTransform {
  readonly kind: "pixel";
  readonly name: string;
  readonly p: number;
  readonly config: Readonly<Record<string, unknown>>;
  /** Draws this application's parameters (plain JSON, so a plan can be stored and replayed). */
  draw(rng: Rng): Record<string, number>;
  /** Changes `image` (96×96, values in [0, 1]) in place; the result stays in [0, 1]. */
  applyImage(image: Float32Array, params: Record<string, number>): void;
}

/** Any transform {@link compose} accepts. */
export type Transform = GeometricTransform | PixelTransform;

/** A symmetric limit `l` (meaning `[−l, l]`) or an explicit `[low, high]` range. */
export type Range = number | readonly [number, number];

function checkP(name: string, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new UsageError(`${name}: probability p must be in [0, 1], got ${p}`);
  return p;
}

function toRange(name: string, what: string, r: Range, min = -Infinity): [number, number] {
  const [lo, hi] = typeof r === "number" ? [-Math.abs(r), Math.abs(r)] : [r[0], r[1]];
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi && lo >= min)) {
    throw new UsageError(
      `${name}: ${what} range must be finite [low, high] with low ≤ high and low ≥ ${min}, ` +
        `got ${JSON.stringify(r)}`,
    );
  }
  return [lo, hi];
}

/**
 * Horizontal flip: mirrors x (`x' = 95 − x`) and swaps the 6 left/right keypoint pairs
 * (`FLIP_KEYPOINT_PAIRS`), so names keep meaning the subject's left and right.
 */
export function horizontalFlip(opts: { p?: number } = {}): GeometricTransform {
  const p = checkP("horizontalFlip", opts.p ?? 0.5);
  return {
    kind: "geometric",
    name: "hflip",
    p,
    config: { p },
    draw: () => ({ matrix: flipMatrix(), mirrored: true }),
  };
}

/** Rotation about the image centre by an angle drawn uniformly from `limit` degrees (default ±15°). */
export function rotate(opts: { p?: number; limit?: Range } = {}): GeometricTransform {
  const p = checkP("rotate", opts.p ?? 0.5);
  const [lo, hi] = toRange("rotate", "angle", opts.limit ?? 15);
  return {
    kind: "geometric",
    name: "rotate",
    p,
    config: { p, degrees: [lo, hi] },
    draw: (rng) => ({ matrix: rotationMatrix(rng.uniform(lo, hi)), mirrored: false }),
  };
}

/** Zoom about the image centre by a factor drawn uniformly from `range` (default 0.9–1.1). */
export function scale(opts: { p?: number; range?: readonly [number, number] } = {}): GeometricTransform {
  const p = checkP("scale", opts.p ?? 0.5);
  const [lo, hi] = toRange("scale", "factor", opts.range ?? [0.9, 1.1]);
  if (!(lo > 0)) throw new UsageError(`scale: factors must be > 0, got [${lo}, ${hi}]`);
  return {
    kind: "geometric",
    name: "scale",
    p,
    config: { p, factor: [lo, hi] },
    draw: (rng) => ({ matrix: scaleMatrix(rng.uniform(lo, hi)), mirrored: false }),
  };
}

/**
 * Translation by fractions of the image side, x and y drawn independently from `limit` (default ±0.1,
 * i.e. ±9.6 px); `x` / `y` give an axis its own range.
 */
export function shift(opts: { p?: number; limit?: Range; x?: Range; y?: Range } = {}): GeometricTransform {
  const p = checkP("shift", opts.p ?? 0.5);
  const [xlo, xhi] = toRange("shift", "x fraction", opts.x ?? opts.limit ?? 0.1);
  const [ylo, yhi] = toRange("shift", "y fraction", opts.y ?? opts.limit ?? 0.1);
  return {
    kind: "geometric",
    name: "shift",
    p,
    config: xlo === ylo && xhi === yhi ? { p, fraction: [xlo, xhi] } : { p, x: [xlo, xhi], y: [ylo, yhi] },
    draw: (rng) => ({
      matrix: shiftMatrix(rng.uniform(xlo, xhi) * IMAGE_SIZE, rng.uniform(ylo, yhi) * IMAGE_SIZE),
      mirrored: false,
    }),
  };
}

/**
 * Shift, scale and rotation drawn together under one probability (albumentations' `ShiftScaleRotate`):
 * scale and rotate about the centre, then shift.
 */
export function shiftScaleRotate(
  opts: { p?: number; shift?: Range; scale?: readonly [number, number]; rotate?: Range } = {},
): GeometricTransform {
  const p = checkP("shiftScaleRotate", opts.p ?? 0.5);
  const [slo, shi] = toRange("shiftScaleRotate", "shift", opts.shift ?? 0.1);
  const [zlo, zhi] = toRange("shiftScaleRotate", "scale", opts.scale ?? [0.9, 1.1]);
  const [rlo, rhi] = toRange("shiftScaleRotate", "rotate", opts.rotate ?? 15);
  if (!(zlo > 0)) throw new UsageError(`shiftScaleRotate: scale factors must be > 0, got [${zlo}, ${zhi}]`);
  return {
    kind: "geometric",
    name: "shiftScaleRotate",
    p,
    config: { p, fraction: [slo, shi], factor: [zlo, zhi], degrees: [rlo, rhi] },
    draw: (rng) => {
      const r = rotationMatrix(rng.uniform(rlo, rhi));
      const z = scaleMatrix(rng.uniform(zlo, zhi));
      const s = shiftMatrix(rng.uniform(slo, shi) * IMAGE_SIZE, rng.uniform(slo, shi) * IMAGE_SIZE);
      return { matrix: composeAffine(s, composeAffine(r, z)), mirrored: false };
    },
  };
}

function clip01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** Adds a brightness offset drawn from `limit` (default ±0.15, in units of the [0, 1] pixel range). */
export function brightness(opts: { p?: number; limit?: Range } = {}): PixelTransform {
  const p = checkP("brightness", opts.p ?? 0.5);
  const [lo, hi] = toRange("brightness", "offset", opts.limit ?? 0.15);
  return {
    kind: "pixel",
    name: "brightness",
    p,
    config: { p, offset: [lo, hi] },
    draw: (rng) => ({ offset: rng.uniform(lo, hi) }),
    applyImage(image, { offset }) {
      for (let i = 0; i < image.length; i++) image[i] = clip01(image[i] + offset);
    },
  };
}

/**
 * Stretches pixel values about the face's mean by a factor drawn from `range` (default 0.8–1.2); the mean
 * brightness stays put, so this is independent of {@link brightness}.
 */
export function contrast(opts: { p?: number; range?: readonly [number, number] } = {}): PixelTransform {
  const p = checkP("contrast", opts.p ?? 0.5);
  const [lo, hi] = toRange("contrast", "factor", opts.range ?? [0.8, 1.2], 0);
  return {
    kind: "pixel",
    name: "contrast",
    p,
    config: { p, factor: [lo, hi] },
    draw: (rng) => ({ factor: rng.uniform(lo, hi) }),
    applyImage(image, { factor }) {
      let sum = 0;
      for (let i = 0; i < image.length; i++) sum += image[i];
      const mean = sum / image.length;
      for (let i = 0; i < image.length; i++) image[i] = clip01(mean + factor * (image[i] - mean));
    },
  };
}

/** Gamma curve `v^γ` with γ drawn log-uniformly from `range` (default 0.8–1.25, symmetric in log). */
export function gamma(opts: { p?: number; range?: readonly [number, number] } = {}): PixelTransform {
  const p = checkP("gamma", opts.p ?? 0.5);
  const [lo, hi] = toRange("gamma", "gamma", opts.range ?? [0.8, 1.25], 0);
  if (!(lo > 0)) throw new UsageError(`gamma: values must be > 0, got [${lo}, ${hi}]`);
  return {
    kind: "pixel",
    name: "gamma",
    p,
    config: { p, gamma: [lo, hi] },
    draw: (rng) => ({ gamma: Math.exp(rng.uniform(Math.log(lo), Math.log(hi))) }),
    applyImage(image, { gamma: g }) {
      for (let i = 0; i < image.length; i++) image[i] = Math.pow(image[i], g);
    },
  };
}

/**
 * Adds independent Gaussian noise to every pixel, with a standard deviation drawn from `std` (default
 * 0.01–0.04). The noise itself comes from a seed stored in the plan, so a plan replays exactly.
 */
export function gaussianNoise(opts: { p?: number; std?: readonly [number, number] } = {}): PixelTransform {
  const p = checkP("gaussianNoise", opts.p ?? 0.5);
  const [lo, hi] = toRange("gaussianNoise", "std", opts.std ?? [0.01, 0.04], 0);
  return {
    kind: "pixel",
    name: "noise",
    p,
    config: { p, std: [lo, hi] },
    draw: (rng) => ({ std: rng.uniform(lo, hi), seed: rng.int(2 ** 31) }),
    applyImage(image, { std, seed }) {
      // Inline mulberry32 and Marsaglia's polar method (no trigonometry): ≈30 % faster than Rng + Box–Muller,
      // and still the costliest transform (a log and a sqrt per pair of pixels).
      let state = (Math.imul(seed | 0, 0x9e3779b1) ^ 0x85ebca6b) >>> 0;
      const uniform = () => {
        let t = (state = (state + 0x6d2b79f5) >>> 0);
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 2147483648 - 1; // in [-1, 1)
      };
      for (let i = 0; i < image.length; i += 2) {
        let u: number, v: number, q: number;
        do {
          u = uniform();
          v = uniform();
          q = u * u + v * v;
        } while (q >= 1 || q === 0);
        const f = std * Math.sqrt(-2 * Math.log(q) / q); // two independent normals: u·f and v·f
        image[i] = clip01(image[i] + u * f);
        if (i + 1 < image.length) image[i + 1] = clip01(image[i + 1] + v * f);
      }
    },
  };
}

/**
 * A small Gaussian blur (σ drawn from `sigma`, default 0.5–1.0 px; 5-tap separable kernel, edges
 * replicated). Off in {@link defaultAugmentation}.
 *
 * Why it is here: faces that the predict pipeline cuts from photographs are often smaller than 96 px and
 * get upsampled, and video-frame datasets are softer than Kaggle's crops; a mild blur teaches the model
 * that sharpness is not a cue. It moves no keypoint. (An elastic step is deliberately absent: it would move
 * keypoints non-affinely, and a plausible face shape change is better learned from real faces.)
 */
export function gaussianBlur(opts: { p?: number; sigma?: readonly [number, number] } = {}): PixelTransform {
  const p = checkP("gaussianBlur", opts.p ?? 0.5);
  const [lo, hi] = toRange("gaussianBlur", "sigma", opts.sigma ?? [0.5, 1.0], 0);
  if (hi > 2) {
    throw new UsageError(`gaussianBlur: sigma above 2 px needs a wider kernel than 5 taps, got ${hi}`);
  }
  const tmp = new Float32Array(PIXELS);
  return {
    kind: "pixel",
    name: "blur",
    p,
    config: { p, sigma: [lo, hi] },
    draw: (rng) => ({ sigma: rng.uniform(lo, hi) }),
    applyImage(image, { sigma }) {
      if (!(sigma > 0)) return;
      const w1 = Math.exp(-1 / (2 * sigma * sigma)), w2 = Math.exp(-4 / (2 * sigma * sigma));
      const norm = 1 + 2 * w1 + 2 * w2;
      const k0 = 1 / norm, k1 = w1 / norm, k2 = w2 / norm;
      const n = IMAGE_SIZE, last = n - 1;
      for (let y = 0; y < n; y++) {
        const row = y * n;
        for (let x = 0; x < n; x++) {
          const xm1 = x > 0 ? x - 1 : 0, xm2 = x > 1 ? x - 2 : 0;
          const xp1 = x < last ? x + 1 : last, xp2 = x < last - 1 ? x + 2 : last;
          tmp[row + x] = k0 * image[row + x] + k1 * (image[row + xm1] + image[row + xp1]) +
            k2 * (image[row + xm2] + image[row + xp2]);
        }
      }
      for (let y = 0; y < n; y++) {
        const ym1 = (y > 0 ? y - 1 : 0) * n, ym2 = (y > 1 ? y - 2 : 0) * n;
        const yp1 = (y < last ? y + 1 : last) * n, yp2 = (y < last - 1 ? y + 2 : last) * n;
        const row = y * n;
        for (let x = 0; x < n; x++) {
          image[row + x] = clip01(
            k0 * tmp[row + x] + k1 * (tmp[ym1 + x] + tmp[yp1 + x]) + k2 * (tmp[ym2 + x] + tmp[yp2 + x]),
          );
        }
      }
    },
  };
}

/**
 * Occlusion (random erasing): a rectangle whose sides are drawn from `size` (fractions of the frame, default
 * 0.15–0.4) is filled with one random gray level. Keypoints keep their labels: a hand, a microphone or
 * hair over the face hides a feature, and the net should still place it from the rest of the face.
 */
export function occlusion(opts: { p?: number; size?: readonly [number, number] } = {}): PixelTransform {
  const p = checkP("occlusion", opts.p ?? 0.3);
  const [lo, hi] = toRange("occlusion", "size", opts.size ?? [0.15, 0.4], 0);
  if (hi > 1) throw new UsageError(`occlusion: size is a fraction of the frame, at most 1, got ${hi}`);
  return {
    kind: "pixel",
    name: "occlusion",
    p,
    config: { p, size: [lo, hi] },
    draw: (rng) => {
      const w = Math.max(1, Math.round(rng.uniform(lo, hi) * IMAGE_SIZE));
      const h = Math.max(1, Math.round(rng.uniform(lo, hi) * IMAGE_SIZE));
      return {
        x: rng.int(IMAGE_SIZE - w + 1),
        y: rng.int(IMAGE_SIZE - h + 1),
        w,
        h,
        value: rng.uniform(0, 1),
      };
    },
    applyImage(image, { x, y, w, h, value }) {
      for (let r = y; r < y + h; r++) image.fill(value, r * IMAGE_SIZE + x, r * IMAGE_SIZE + x + w);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Resampling
// ---------------------------------------------------------------------------------------------------------

/** How pixels that map from outside the source image are filled. */
export type FillMode = "constant" | "edge";

/**
 * Writes `dst = src ∘ inverse(forward)` with bilinear sampling: each output pixel centre is mapped back into
 * the source and interpolated from its 4 neighbours. Outside the source, `"constant"` uses `fillValue`
 * and `"edge"` repeats the border pixels.
 */
export function warpAffine(
  src: Float32Array,
  dst: Float32Array,
  forward: Affine,
  fill: FillMode = "constant",
  fillValue = 0,
): void {
  const [ia, ib, ic, id, ie, iff] = invertAffine(forward);
  const n = IMAGE_SIZE, last = n - 1;
  for (let v = 0; v < n; v++) {
    // Source position of (0, v), stepped by (ia, id) along the row.
    let sx = ib * v + ic;
    let sy = ie * v + iff;
    const row = v * n;
    for (let u = 0; u < n; u++, sx += ia, sy += id) {
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      const fx = sx - x0, fy = sy - y0;
      if (x0 >= 0 && y0 >= 0 && x0 < last && y0 < last) {
        // Fast path: all 4 neighbours inside.
        const i = y0 * n + x0;
        const top = src[i] + fx * (src[i + 1] - src[i]);
        const bottom = src[i + n] + fx * (src[i + n + 1] - src[i + n]);
        dst[row + u] = top + fy * (bottom - top);
      } else if (fill === "edge") {
        const cx0 = x0 < 0 ? 0 : x0 > last ? last : x0, cx1 = x0 + 1 < 0 ? 0 : x0 + 1 > last ? last : x0 + 1;
        const cy0 = y0 < 0 ? 0 : y0 > last ? last : y0, cy1 = y0 + 1 < 0 ? 0 : y0 + 1 > last ? last : y0 + 1;
        const top = src[cy0 * n + cx0] + fx * (src[cy0 * n + cx1] - src[cy0 * n + cx0]);
        const bottom = src[cy1 * n + cx0] + fx * (src[cy1 * n + cx1] - src[cy1 * n + cx0]);
        dst[row + u] = top + fy * (bottom - top);
      } else if (x0 < -1 || y0 < -1 || x0 > last || y0 > last) {
        dst[row + u] = fillValue;
      } else {
        // Straddling the border: taps outside read the fill value, so the edge fades instead of stepping.
        const at = (
          x: number,
          y: number,
        ) => (x < 0 || y < 0 || x > last || y > last ? fillValue : src[y * n + x]);
        const top = at(x0, y0) + fx * (at(x0 + 1, y0) - at(x0, y0));
        const bottom = at(x0, y0 + 1) + fx * (at(x0 + 1, y0 + 1) - at(x0, y0 + 1));
        dst[row + u] = top + fy * (bottom - top);
      }
    }
  }
}

/**
 * Maps 30 keypoint coordinates through `forward` into `out`: x′ and y′ both from the ORIGINAL (x, y).
 * A keypoint with a NaN coordinate, or mapped outside the frame, becomes NaN in both coordinates; with
 * `mirrored`, the left/right pairs swap afterwards.
 */
export function transformKeypoints(
  keypoints: ArrayLike<number>,
  forward: Affine,
  mirrored: boolean,
  out: Float32Array = new Float32Array(NUM_COORDS),
): Float32Array {
  const [a, b, c, d, e, f] = forward;
  for (let k = 0; k < NUM_KEYPOINTS; k++) {
    const x = keypoints[2 * k], y = keypoints[2 * k + 1];
    const nx = a * x + b * y + c;
    const ny = d * x + e * y + f;
    // NaN fails inFrame, so a missing point stays missing.
    const keep = inFrame(nx, ny);
    out[2 * k] = keep ? nx : NaN;
    out[2 * k + 1] = keep ? ny : NaN;
  }
  if (mirrored) swapLeftRight(out);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Compose
// ---------------------------------------------------------------------------------------------------------

/** One step of a drawn plan: a merged run of geometric transforms, or one pixel transform. */
export type PlanStep =
  | { kind: "affine"; names: string[]; matrix: Affine; mirrored: boolean }
  | { kind: "pixel"; name: string; index: number; params: Record<string, number> };

/** The parameters of one augmentation, drawn by {@link Augmenter.sample}; plain JSON, replayable. */
export interface AugmentPlan {
  steps: PlanStep[];
  /** Draws rejected because a present eye centre would have left the frame. */
  rejected: number;
  /** True when every draw was rejected and the plan fell back to no geometric change. */
  fellBack: boolean;
}

/** Options of {@link compose}. */
export interface ComposeOptions {
  /** Filling of pixels that come from outside the source image (default `"constant"`). */
  fill?: FillMode;
  /** Value for `fill: "constant"`, in [0, 1] (default 0, black). */
  fillValue?: number;
  /**
   * Reject and redraw an augmentation that would push a present eye centre out of the frame (default
   * true). After `maxRetries` rejections the geometric steps are dropped for that face.
   */
  keepEyes?: boolean;
  /** Redraws before giving up on geometry for a face (default 10). */
  maxRetries?: number;
  /** Eye centres must stay this many pixels inside the frame (default 0). */
  eyeMargin?: number;
}

/** An image and its 30 keypoint coordinates. */
export interface AugmentedFace {
  /** 96×96 pixels in [0, 1]. */
  image: Float32Array;
  /** 30 coordinates, NaN where missing. */
  keypoints: Float32Array;
}

/** What {@link compose} returns: applies a list of transforms to faces. */
export interface Augmenter {
  readonly transforms: readonly Transform[];
  readonly options: Readonly<Required<ComposeOptions>>;
  /** Draws a plan for a face with these keypoints (needed for the keep-eyes check). */
  sample(keypoints: Float32Array, rng: Rng): AugmentPlan;
  /** Applies a plan; returns new arrays and leaves the inputs untouched. */
  replay(image: Float32Array, keypoints: Float32Array, plan: AugmentPlan): AugmentedFace;
  /** `replay(image, keypoints, sample(keypoints, rng))`. */
  apply(image: Float32Array, keypoints: Float32Array, rng: Rng): AugmentedFace;
  /**
   * Like {@link apply} but writes into `outImage` / `outKeypoints` (which may be views into batch arrays);
   * used by {@link augmentBatch} to avoid per-face allocation.
   */
  applyInto(
    image: Float32Array,
    keypoints: Float32Array,
    rng: Rng,
    outImage: Float32Array,
    outKeypoints: Float32Array,
  ): AugmentPlan;
  /** One line per transform, e.g. `rotate p=0.5 degrees=[-15,15]`, for logs and checkpoint metadata. */
  describe(): string;
}

function checkFace(where: string, image: Float32Array, keypoints: Float32Array): void {
  if (image.length !== PIXELS) {
    throw new UsageError(`${where}: image has ${image.length} pixels, expected ${PIXELS}`);
  }
  if (keypoints.length !== NUM_COORDS) {
    throw new UsageError(`${where}: keypoints have ${keypoints.length} values, expected ${NUM_COORDS}`);
  }
}

class Compose implements Augmenter {
  readonly transforms: readonly Transform[];
  readonly options: Readonly<Required<ComposeOptions>>;
  #scratch = new Float32Array(PIXELS);
  #kp = new Float32Array(NUM_COORDS);

  constructor(transforms: readonly Transform[], opts: ComposeOptions) {
    for (const [i, t] of transforms.entries()) {
      if (!t || (t.kind !== "geometric" && t.kind !== "pixel")) {
        throw new UsageError(`compose: item ${i} is not a transform (got ${JSON.stringify(t)})`);
      }
    }
    const options = {
      fill: opts.fill ?? "constant",
      fillValue: opts.fillValue ?? 0,
      keepEyes: opts.keepEyes ?? true,
      maxRetries: opts.maxRetries ?? 10,
      eyeMargin: opts.eyeMargin ?? 0,
    };
    if (options.fill !== "constant" && options.fill !== "edge") {
      throw new UsageError(`compose: fill must be "constant" or "edge", got ${JSON.stringify(options.fill)}`);
    }
    if (!(options.fillValue >= 0 && options.fillValue <= 1)) {
      throw new UsageError(`compose: fillValue must be in [0, 1], got ${options.fillValue}`);
    }
    if (!(Number.isInteger(options.maxRetries) && options.maxRetries >= 0)) {
      throw new UsageError(`compose: maxRetries must be an integer ≥ 0, got ${options.maxRetries}`);
    }
    if (!(options.eyeMargin >= 0 && options.eyeMargin < IMAGE_SIZE / 2)) {
      throw new UsageError(`compose: eyeMargin must be in [0, 48), got ${options.eyeMargin}`);
    }
    this.transforms = [...transforms];
    this.options = options;
  }

  /** One draw: every transform consumes one chance draw, then its parameters if it fires. */
  #draw(rng: Rng): PlanStep[] {
    const steps: PlanStep[] = [];
    let geo: Extract<PlanStep, { kind: "affine" }> | undefined;
    this.transforms.forEach((t, index) => {
      if (!rng.chance(t.p)) return;
      if (t.kind === "geometric") {
        const { matrix, mirrored } = t.draw(rng);
        if (!geo) {
          geo = { kind: "affine", names: [], matrix: IDENTITY, mirrored: false };
          steps.push(geo);
        }
        geo.names.push(t.name);
        geo.matrix = composeAffine(matrix, geo.matrix);
        geo.mirrored = geo.mirrored !== mirrored;
      } else {
        steps.push({ kind: "pixel", name: t.name, index, params: t.draw(rng) });
        geo = undefined; // a pixel step between geometric ones ends the merged run: order is kept
      }
    });
    return steps;
  }

  /** Whether every eye centre present before is still on the frame after the plan's geometry. */
  #eyesKept(keypoints: Float32Array, steps: PlanStep[]): boolean {
    const kp = this.#kp;
    kp.set(keypoints);
    for (const s of steps) if (s.kind === "affine") transformKeypoints(kp, s.matrix, s.mirrored, kp);
    const m = this.options.eyeMargin;
    // Eye centres are keypoints 0 and 1; after a flip they swap, which does not matter for "both kept".
    for (const k of [0, 1]) {
      if (Number.isNaN(keypoints[2 * k]) || Number.isNaN(keypoints[2 * k + 1])) continue;
      if (Number.isNaN(kp[2 * k]) || !inFrame(kp[2 * k], kp[2 * k + 1], m)) return false;
    }
    return true;
  }

  sample(keypoints: Float32Array, rng: Rng): AugmentPlan {
    if (keypoints.length !== NUM_COORDS) {
      throw new UsageError(`augment: keypoints have ${keypoints.length} values, expected ${NUM_COORDS}`);
    }
    let steps = this.#draw(rng);
    if (!this.options.keepEyes || !steps.some((s) => s.kind === "affine")) {
      return { steps, rejected: 0, fellBack: false };
    }
    let rejected = 0;
    while (!this.#eyesKept(keypoints, steps)) {
      rejected++;
      if (rejected > this.options.maxRetries) {
        // Give up on geometry for this face but keep the pixel steps of the last draw.
        return { steps: steps.filter((s) => s.kind === "pixel"), rejected, fellBack: true };
      }
      steps = this.#draw(rng);
    }
    return { steps, rejected, fellBack: false };
  }

  #run(
    image: Float32Array,
    keypoints: Float32Array,
    plan: AugmentPlan,
    outImage: Float32Array,
    outKp: Float32Array,
  ) {
    outKp.set(keypoints);
    let started = false; // whether outImage holds the working image yet
    for (const step of plan.steps) {
      if (step.kind === "affine") {
        const src = started ? this.#scratch : image;
        if (started) this.#scratch.set(outImage);
        warpAffine(src, outImage, step.matrix, this.options.fill, this.options.fillValue);
        transformKeypoints(outKp, step.matrix, step.mirrored, outKp);
      } else {
        if (!started) outImage.set(image);
        const t = this.transforms[step.index];
        if (!t || t.kind !== "pixel" || t.name !== step.name) {
          throw new UsageError(
            `augment: plan step ${step.name} does not match transform ${step.index} of this augmenter`,
          );
        }
        t.applyImage(outImage, step.params);
      }
      started = true;
    }
    if (!started) outImage.set(image);
  }

  replay(image: Float32Array, keypoints: Float32Array, plan: AugmentPlan): AugmentedFace {
    checkFace("augment", image, keypoints);
    const out = { image: new Float32Array(PIXELS), keypoints: new Float32Array(NUM_COORDS) };
    this.#run(image, keypoints, plan, out.image, out.keypoints);
    return out;
  }

  apply(image: Float32Array, keypoints: Float32Array, rng: Rng): AugmentedFace {
    checkFace("augment", image, keypoints);
    return this.replay(image, keypoints, this.sample(keypoints, rng));
  }

  applyInto(
    image: Float32Array,
    keypoints: Float32Array,
    rng: Rng,
    outImage: Float32Array,
    outKeypoints: Float32Array,
  ): AugmentPlan {
    checkFace("augment", image, keypoints);
    checkFace("augment output", outImage, outKeypoints);
    if (outImage.buffer === image.buffer && outImage.byteOffset === image.byteOffset) {
      throw new UsageError("augment: outImage must not be the input image (it is read while written)");
    }
    const plan = this.sample(keypoints, rng);
    this.#run(image, keypoints, plan, outImage, outKeypoints);
    return plan;
  }

  describe(): string {
    const fmt = (
      v: unknown,
    ) => (Array.isArray(v) ? `[${v.map((x) => +(+x).toFixed(4)).join(",")}]` : String(v));
    const lines = this.transforms.map((t) =>
      [t.name, ...Object.entries(t.config).map(([k, v]) => `${k}=${fmt(v)}`)].join(" ")
    );
    const o = this.options;
    lines.push(
      `fill=${o.fill}${o.fill === "constant" ? `(${o.fillValue})` : ""} keepEyes=${o.keepEyes}` +
        (o.keepEyes ? ` maxRetries=${o.maxRetries} eyeMargin=${o.eyeMargin}` : ""),
    );
    return lines.join("\n");
  }
}

/**
 * Builds an {@link Augmenter} that applies `transforms` in order, each with its own probability. Runs of
 * consecutive geometric transforms are merged into one affine matrix (one resampling).
 *
 * @example
 * ```ts
 * const aug = compose([horizontalFlip(), shiftScaleRotate({ p: 0.75 }), gamma({ p: 0.3 })], { fill: "edge" });
 * ```
 */
export function compose(transforms: readonly Transform[], opts: ComposeOptions = {}): Augmenter {
  return new Compose(transforms, opts);
}

/**
 * The project's default, close to the thesis's expansion (flips, rotations, shifts, brightness):
 * flip p=0.5; rotation ±15° p=0.5; scale 0.9–1.1 p=0.5; shift ±10 % (±9.6 px) p=0.5; brightness ±0.15
 * p=0.5; contrast 0.8–1.2 p=0.5; edges replicated (no black wedges for the net to learn); eye centres kept
 * in frame (10 retries).
 */
export function defaultAugmentation(): Augmenter {
  return compose([
    horizontalFlip({ p: 0.5 }),
    rotate({ p: 0.5, limit: 15 }),
    scale({ p: 0.5, range: [0.9, 1.1] }),
    shift({ p: 0.5, limit: 0.1 }),
    brightness({ p: 0.5, limit: 0.15 }),
    contrast({ p: 0.5, range: [0.8, 1.2] }),
  ], { fill: "edge", keepEyes: true, maxRetries: 10 });
}

/**
 * Augmentation for faces in the wild (the `resnet18-slim` recipe): flips; rotations up to ±30° (in-the-wild
 * faces tilt that far); scale 0.8–1.25 and shift ±10 % together, which covers how a detector's crop sits
 * around the landmark box (see `lib/framing.ts` for the measured spread); occlusion, blur, noise and
 * brightness, contrast and gamma for lighting. Edges replicated; eye centres kept in frame.
 */
export function wildAugmentation(opts: { framing?: boolean } = {}): Augmenter {
  // The framing spread can be left out to measure what it brings (`wild-no-framing`).
  const framing = (opts.framing ?? true)
    ? [scale({ p: 0.8, range: [0.8, 1.25] }), shift({ p: 0.8, limit: 0.1 })]
    : [];
  return compose([
    horizontalFlip({ p: 0.5 }),
    rotate({ p: 0.7, limit: 30 }),
    ...framing,
    brightness({ p: 0.5, limit: 0.2 }),
    contrast({ p: 0.5, range: [0.7, 1.3] }),
    gamma({ p: 0.3, range: [0.7, 1.5] }),
    gaussianBlur({ p: 0.3, sigma: [0.3, 1.5] }),
    gaussianNoise({ p: 0.2, std: [0.01, 0.03] }),
    occlusion({ p: 0.3 }),
  ], { fill: "edge", keepEyes: true, maxRetries: 10 });
}

/** The augmentations by name, as the CLI's `--augmentation` takes them. */
export const AUGMENTATIONS = {
  default: defaultAugmentation,
  wild: () => wildAugmentation(),
  /** The wild augmentation without the framing spread (crops always on the landmark box): an ablation. */
  "wild-no-framing": () => wildAugmentation({ framing: false }),
} as const;

/**
 * Augments faces `0..n−1` of a batch on the fly (one independent draw per face, in order); returns new
 * arrays: `images` (n × 9216), `keypoints` (n × 30, NaN where missing) and the matching `mask`.
 *
 * @example
 * ```ts
 * import { Rng } from "../core/rng.ts";
 * import { syntheticDataset } from "../data/synthetic.ts";
 * const ds = syntheticDataset({ n: 32, seed: 0 });
 * const batch = augmentBatch(defaultAugmentation(), ds.images, ds.keypoints, ds.n, new Rng(1));
 * ```
 */
export function augmentBatch(
  aug: Augmenter,
  images: Float32Array,
  keypoints: Float32Array,
  n: number,
  rng: Rng,
): { images: Float32Array; keypoints: Float32Array; mask: Uint8Array } {
  if (!(Number.isInteger(n) && n >= 0)) {
    throw new UsageError(`augmentBatch: n must be an integer ≥ 0, got ${n}`);
  }
  if (images.length < n * PIXELS || keypoints.length < n * NUM_COORDS) {
    throw new UsageError(
      `augmentBatch: ${n} faces need ${n * PIXELS} pixels and ${n * NUM_COORDS} coordinates, got ` +
        `${images.length} and ${keypoints.length}`,
    );
  }
  const outImages = new Float32Array(n * PIXELS);
  const outKp = new Float32Array(n * NUM_COORDS);
  for (let i = 0; i < n; i++) {
    aug.applyInto(
      images.subarray(i * PIXELS, (i + 1) * PIXELS),
      keypoints.subarray(i * NUM_COORDS, (i + 1) * NUM_COORDS),
      rng,
      outImages.subarray(i * PIXELS, (i + 1) * PIXELS),
      outKp.subarray(i * NUM_COORDS, (i + 1) * NUM_COORDS),
    );
  }
  return { images: outImages, keypoints: outKp, mask: maskFromKeypoints(outKp) };
}

/**
 * Offline expansion (the thesis's way): the original faces followed by `copies` augmented copies of each,
 * in the same dataset form. Face `k·n + i` is copy `k` of face `i` (copy 0 = the original).
 *
 * - ids: `<id>` for originals and `<id>~aug<k>` for copies (`<id>` is the face index where the source has
 *   no ids);
 * - groups: the source's groups, or else the original face's id, so that a group split keeps every copy
 *   of a face on the same side (no augmented twin of a validation face in training);
 * - `sources` are dropped: a crop box no longer maps an augmented face back to its photograph;
 * - the mask is recomputed (points pushed out of frame are missing). Same seed, same output.
 */
export function expandDataset(
  ds: KeypointDataset,
  aug: Augmenter,
  copies: number,
  seed: number,
): KeypointDataset {
  if (!(Number.isInteger(copies) && copies >= 0)) {
    throw new UsageError(`expandDataset: copies must be an integer ≥ 0, got ${copies}`);
  }
  if (ds.images.length !== ds.n * PIXELS || ds.keypoints.length !== ds.n * NUM_COORDS) {
    throw new UsageError(`expandDataset: dataset ${ds.name} has arrays that do not match its ${ds.n} faces`);
  }
  const n = ds.n, total = n * (copies + 1);
  const images = new Float32Array(total * PIXELS);
  const keypoints = new Float32Array(total * NUM_COORDS);
  images.set(ds.images);
  keypoints.set(ds.keypoints);
  const rng = new Rng(seed);
  for (let k = 1; k <= copies; k++) {
    const batch = augmentBatch(aug, ds.images, ds.keypoints, n, rng);
    images.set(batch.images, k * n * PIXELS);
    keypoints.set(batch.keypoints, k * n * NUM_COORDS);
  }
  const baseIds = ds.ids ?? Array.from({ length: n }, (_, i) => String(i));
  const ids: string[] = [], groups: string[] = [];
  for (let k = 0; k <= copies; k++) {
    for (let i = 0; i < n; i++) {
      ids.push(k === 0 ? baseIds[i] : `${baseIds[i]}~aug${k}`);
      groups.push(ds.groups ? ds.groups[i] : baseIds[i]);
    }
  }
  return {
    name: `${ds.name} + ${copies} augmented cop${copies === 1 ? "y" : "ies"} (seed ${seed})`,
    synthetic: ds.synthetic,
    n: total,
    images,
    keypoints,
    mask: maskFromKeypoints(keypoints),
    ids,
    groups,
  };
}
