/**
 * How a crop sits around a face: the training crops are square boxes around the 68 ground-truth landmarks
 * (`squareBoxAround`), the crops at inference come from a detector's box or from a first prediction. This
 * module measures the difference (scale and shift, as a spread rather than one median) and frames an
 * inference crop like a training crop from the 15 predicted keypoints, which is what refinement
 * (re-crop and predict again) needs.
 *
 * Pure code: no file or network access.
 *
 * @example
 * ```ts
 * import { cropBoxFromKeypoints, framingOf } from "./framing.ts";
 * const keypoints15InPhotoPixels = new Float32Array(30).map((_, i) => 200 + (i % 2 ? 2 : 3) * (i >> 1));
 * const box = cropBoxFromKeypoints(keypoints15InPhotoPixels);
 * const f = framingOf(box, { x: 10, y: 20, size: 120 }); // { scale, dx, dy }
 * ```
 *
 * @module
 */
import { NUM_COORDS } from "../core/constants.ts";
import { UsageError } from "../core/errors.ts";
import { DEFAULT_CROP_MARGIN, pointBounds } from "../data/crop.ts";

/** A square crop: top-left corner and side in image pixels (the same shape as `CropBox`). */
export interface SquareBox {
  x: number;
  y: number;
  size: number;
}

/** A crop relative to a reference crop: `scale = size / ref.size`, centre offsets in units of `ref.size`. */
export interface Framing {
  scale: number;
  dx: number;
  dy: number;
}

/** The framing of `box` against `ref` (both square crops; centres in the pixel-centre convention). */
export function framingOf(box: SquareBox, ref: SquareBox): Framing {
  const c = (b: SquareBox) => [b.x + (b.size - 1) / 2, b.y + (b.size - 1) / 2];
  const [bx, by] = c(box), [rx, ry] = c(ref);
  return { scale: box.size / ref.size, dx: (bx - rx) / ref.size, dy: (by - ry) / ref.size };
}

/** The 5th, 25th, 50th, 75th and 95th percentiles of a sample. */
export interface Quantiles {
  p5: number;
  p25: number;
  p50: number;
  p75: number;
  p95: number;
}

/** Percentiles of `values` (linear interpolation); NaN fields for an empty sample. */
export function quantiles(values: readonly number[]): Quantiles {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  const q = (p: number) => {
    if (v.length === 0) return NaN;
    const i = p * (v.length - 1), lo = Math.floor(i), hi = Math.ceil(i);
    return v[lo] + (v[hi] - v[lo]) * (i - lo);
  };
  return { p5: q(0.05), p25: q(0.25), p50: q(0.5), p75: q(0.75), p95: q(0.95) };
}

/** The spread of a set of framings: how many, and the percentiles of each component. */
export interface FramingSpread {
  n: number;
  scale: Quantiles;
  dx: Quantiles;
  dy: Quantiles;
}

/** Summarises framings measured on many faces. */
export function framingSpread(framings: readonly Framing[]): FramingSpread {
  return {
    n: framings.length,
    scale: quantiles(framings.map((f) => f.scale)),
    dx: quantiles(framings.map((f) => f.dx)),
    dy: quantiles(framings.map((f) => f.dy)),
  };
}

/**
 * How the box of the 15 keypoints relates to the box of the 68 landmarks that the training crops are
 * framed by: `extent` = larger side of the 68-landmark box ÷ larger side of the 15-keypoint box, and the
 * 68-landmark box's centre minus the 15-keypoint box's centre in units of the 15-keypoint side. Medians over
 * the training split of ytf68 + 300-W (4627 faces; 5 %…95 %: extent 1.18…1.46, shiftX −0.20…0.21 with the
 * head's yaw, shiftY 0.07…0.18), measured with `deno task bench framing`.
 */
export const KEYPOINTS15_TO_LANDMARK_BOX = { extent: 1.313, shiftX: 0, shiftY: 0.131 } as const;

/**
 * The square crop framed like a training crop (landmark box plus `margin` on each side) for a face whose 15
 * keypoints are `points` (`[x0, y0, …]` in image pixels, NaN pairs skipped), e.g. a first prediction.
 *
 * @throws {UsageError} when no keypoint is finite.
 */
export function cropBoxFromKeypoints(points: ArrayLike<number>, margin = DEFAULT_CROP_MARGIN): SquareBox {
  const { minX, minY, maxX, maxY } = pointBounds(points);
  if (minX > maxX) throw new UsageError("cropBoxFromKeypoints: no finite keypoint to frame");
  const side15 = Math.max(maxX - minX, maxY - minY);
  const { extent, shiftX, shiftY } = KEYPOINTS15_TO_LANDMARK_BOX;
  const size = Math.max(1, Math.round(extent * side15 * (1 + 2 * margin)));
  const cx = (minX + maxX) / 2 + shiftX * side15, cy = (minY + maxY) / 2 + shiftY * side15;
  return { x: Math.round(cx - (size - 1) / 2), y: Math.round(cy - (size - 1) / 2), size };
}

/**
 * Whether a refinement crop may replace the last one: its side within ½…2× the last side and its centre
 * within half the last side of the last centre. Beyond that the first prediction was not a face's (it
 * collapsed, exploded or jumped to another part of the photo), and framing from it would only compound it.
 */
export function plausibleRefinement(next: SquareBox, last: SquareBox): boolean {
  const ratio = next.size / last.size;
  const shift = Math.hypot(
    next.x + next.size / 2 - (last.x + last.size / 2),
    next.y + next.size / 2 - (last.y + last.size / 2),
  );
  return ratio >= 0.5 && ratio <= 2 && shift <= last.size / 2;
}

/**
 * Whether every finite keypoint of `points` (image pixels) lies inside `crop` grown by `tolerance` of its
 * side on each edge: a model trained on framed faces places them there, so a prediction outside its own crop
 * is not one to keep.
 */
export function keypointsInsideCrop(points: ArrayLike<number>, crop: SquareBox, tolerance = 0.1): boolean {
  const lo = -tolerance * crop.size, hi = (1 + tolerance) * crop.size;
  for (let k = 0; k + 1 < points.length; k += 2) {
    const u = points[k] - crop.x, v = points[k + 1] - crop.y;
    if (Number.isNaN(u) || Number.isNaN(v)) continue;
    if (!(u >= lo && u <= hi && v >= lo && v <= hi)) return false;
  }
  return true;
}

/**
 * Flip test-time augmentation's answer for one face: the mean of its prediction and the mirrored one mapped
 * back, unless only one of the two lies inside the crop ({@link keypointsInsideCrop}): then that one (a mean
 * with a broken prediction is broken too). Both in the same coordinates as `crop`.
 */
export function flipPairMean(plain: Float64Array, mirrored: Float64Array, crop: SquareBox): Float64Array;
export function flipPairMean(plain: Float32Array, mirrored: Float32Array, crop: SquareBox): Float32Array;
export function flipPairMean(
  plain: Float32Array | Float64Array,
  mirrored: Float32Array | Float64Array,
  crop: SquareBox,
): Float32Array | Float64Array {
  const pIn = keypointsInsideCrop(plain, crop), mIn = keypointsInsideCrop(mirrored, crop);
  if (pIn !== mIn) return pIn ? plain : mirrored;
  return plain.map((v, k) => (v + mirrored[k]) / 2);
}

/** The coordinate-wise median of predictions (the mean of the middle two for an even count). */
export function medianOf(predictions: readonly ArrayLike<number>[]): Float64Array {
  const median = new Float64Array(NUM_COORDS);
  for (let c = 0; c < NUM_COORDS; c++) {
    const v = predictions.map((p) => p[c]).sort((a, b) => a - b);
    median[c] = v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }
  return median;
}

export { CASCADE_FRAMING, CASCADE_NAMES, type CascadeName } from "../data/crop.ts";
