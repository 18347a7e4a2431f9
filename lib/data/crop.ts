/**
 * Cutting a square face out of a larger grayscale image and resizing it to the 96×96 model input, with the
 * exact coordinate mapping between the two.
 *
 * Coordinates are in pixels with the centre of the top-left pixel at (0, 0) in both images. A crop box
 * `{x, y, size}` (integers) covers the original pixels `x … x + size − 1` (and the same for y); a point
 * maps to the face as
 *
 *     u = (x − box.x + 0.5) · 96 / box.size − 0.5
 *
 * (see `CropSource.box` in `types.ts`), so pixel edges, not pixel centres, line up at the borders.
 *
 * @example
 * ```ts
 * import { squareBoxAround, toCropCoords } from "./crop.ts";
 * import { cropToFace } from "./crop_io.ts";
 * import { readGray } from "../core/image_io.ts";
 * const landmarks68 = new Float32Array(136).map((_, i) => 100 + (i % 2 ? 3 : 2) * (i >> 1)); // x0, y0, …
 * const box = squareBoxAround(landmarks68, 0.25);
 * const face = await cropToFace(await readGray("frame.jpg"), box); // Float32Array(9216) in [0, 1]
 * const [u, v] = toCropCoords(landmarks68[60], landmarks68[61], box);
 * ```
 *
 * @module
 */
import { IMAGE_SIZE } from "../core/constants.ts";
import type { Box, CropBox } from "../core/box.ts";
import { UsageError } from "../core/errors.ts";
import type { RawImage } from "../core/image.ts";

/** The default margin of {@link squareBoxAround}: a quarter of the face's extent on each side. */
export const DEFAULT_CROP_MARGIN = 0.25;

/**
 * The bounding box of the finite `[x0, y0, x1, y1, …]` pairs (NaN pairs skipped); `minX > maxX` when there
 * is none.
 */
export function pointBounds(
  points: ArrayLike<number>,
): { minX: number; minY: number; maxX: number; maxY: number } {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (let i = 0; i + 1 < points.length; i += 2) {
    const x = points[i], y = points[i + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    minX = Math.min(minX, x), maxX = Math.max(maxX, x);
    minY = Math.min(minY, y), maxY = Math.max(maxY, y);
  }
  return { minX, minY, maxX, maxY };
}

/**
 * The square crop around a set of points: centred on their bounding box, with side
 * `max(w, h) · (1 + 2 · margin)` where `w`, `h` are the bounding box's width and height. So `margin` is the
 * fraction of the face's larger extent added on each side (0.25: the landmarks span the middle two thirds).
 *
 * The box is rounded to whole pixels (side at least 1) so that the crop is exact and the mapping of
 * {@link toCropCoords} holds for what is actually cut; the rounded centre is within half a pixel of the
 * points' centre. The box may extend past the image (that part of the crop is black).
 *
 * @param points x, y pairs `[x0, y0, x1, y1, …]` in pixels; pairs with a NaN are ignored.
 * @param margin extra border as a fraction of the larger side, ≥ 0 (default {@link DEFAULT_CROP_MARGIN}).
 * @throws {UsageError} when no point is finite or the margin is negative or not a number.
 */
export function squareBoxAround(points: ArrayLike<number>, margin = DEFAULT_CROP_MARGIN): CropBox {
  if (!(margin >= 0) || !Number.isFinite(margin)) {
    throw new UsageError(`squareBoxAround: margin must be a finite number ≥ 0, got ${margin}`);
  }
  const { minX, minY, maxX, maxY } = pointBounds(points);
  if (minX > maxX) throw new UsageError("squareBoxAround: no finite point to put a box around");
  const size = Math.max(1, Math.round(Math.max(maxX - minX, maxY - minY) * (1 + 2 * margin)));
  // The box's centre in pixel-centre coordinates is x + (size − 1) / 2.
  const x = Math.round((minX + maxX) / 2 - (size - 1) / 2);
  const y = Math.round((minY + maxY) / 2 - (size - 1) / 2);
  return { x, y, size };
}

/**
 * How a Haar face box relates to the 68-landmark bounding box (ratios of the Haar box's width), measured on
 * `../shared/data/ytf68` training frames with the default detector (see the module documentation).
 */
export const HAAR_TO_LANDMARK_BOX = {
  /** Larger side of the landmark box ÷ Haar width (median). */
  extent: 0.877,
  /** Landmark box centre below the Haar box centre ÷ Haar width (median). */
  shiftY: 0.165,
} as const;

/**
 * The square crop (whole pixels, may extend past the image) for a detected face, framed like the training
 * crops: the landmark box estimated by {@link HAAR_TO_LANDMARK_BOX}, plus `margin` on each side.
 *
 * @example
 * ```ts
 * cropBoxForDetection({ x: 177, y: 65, width: 96, height: 96 }); // { x: 162, y: 66, size: 126 }
 * ```
 */
export function cropBoxForDetection(
  face: Box & { cascade?: CascadeName; mirrored?: boolean; source?: "cnn" },
  margin: number = DEFAULT_CROP_MARGIN,
): CropBox {
  if (!(margin >= 0) || !Number.isFinite(margin)) {
    throw new UsageError(`margin must be a finite number ≥ 0, got ${margin}`);
  }
  // A box from one of several cascades is framed with that cascade's calibration; the CNN detector's box
  // is already the landmark box.
  const frame = face.source === "cnn" ? LANDMARK_BOX_FRAMING : CASCADE_FRAMING[face.cascade ?? "default"];
  const side = Math.max(face.width, face.height);
  const size = Math.max(1, Math.round(frame.extent * side * (1 + 2 * margin)));
  // Centres in pixel-centre coordinates: a box starting at pixel x with side w is centred at x + (w − 1)/2.
  const cx = face.x + (face.width - 1) / 2 + (face.mirrored ? -1 : 1) * frame.shiftX * side;
  const cy = face.y + (face.height - 1) / 2 + frame.shiftY * side;
  return { x: Math.round(cx - (size - 1) / 2), y: Math.round(cy - (size - 1) / 2), size };
}

/** The framing of a box that is the 68-landmark box itself (the CNN detector's): the training crop's. */
const LANDMARK_BOX_FRAMING = { extent: 1, shiftX: 0, shiftY: 0 } as const;

/** The Haar cascades `createCascadeDetector` knows (see `face/cascades.ts`), in the order they are tried. */
export const CASCADE_NAMES = ["default", "alt2", "profile"] as const;

/** One of {@link CASCADE_NAMES}. */
export type CascadeName = typeof CASCADE_NAMES[number];

/**
 * How each cascade's box relates to the 68-landmark box (ratios of the box's larger side): `extent` =
 * landmark box side ÷ detection side, `shiftX`/`shiftY` = landmark box centre minus detection centre.
 * `default` is {@link HAAR_TO_LANDMARK_BOX} (ytf68; on 160 training photos of ytf68 + 300-W it measured
 * 0.856–0.882 and 0.13–0.17 per part); `alt2` and `profile` are medians over 40 training photos per part of
 * ytf68 + 300-W, `deno task bench framing`. For the profile cascade, `shiftX` is for a face found on the
 * photo; on the mirrored photo its sign flips.
 */
export const CASCADE_FRAMING: Readonly<
  Record<CascadeName, { extent: number; shiftX: number; shiftY: number }>
> = {
  default: { ...HAAR_TO_LANDMARK_BOX, shiftX: 0 },
  alt2: { extent: 0.89, shiftX: 0, shiftY: 0.155 },
  profile: { extent: 0.75, shiftX: -0.08, shiftY: 0.16 },
};

/** Maps a point in original-image pixels to 96×96 face pixels: `u = (x − box.x + 0.5)·96/box.size − 0.5`. */
export function toCropCoords(x: number, y: number, box: CropBox): [number, number] {
  const s = IMAGE_SIZE / box.size;
  return [(x - box.x + 0.5) * s - 0.5, (y - box.y + 0.5) * s - 0.5];
}

/** Maps a point in 96×96 face pixels back to original-image pixels (the inverse of {@link toCropCoords}). */
export function fromCropCoords(u: number, v: number, box: CropBox): [number, number] {
  const s = box.size / IMAGE_SIZE;
  return [(u + 0.5) * s - 0.5 + box.x, (v + 0.5) * s - 0.5 + box.y];
}

/**
 * The 96×96 face of a box with side ≤ 96, without sharp (so it also runs in a browser): copied at side 96,
 * enlarged bilinearly below, `9216` floats in [0, 1]. `cropToFace` (`crop_io.ts`) uses it for such boxes
 * and shrinks larger ones with sharp.
 *
 * @throws {UsageError} when the box is larger than 96, not whole pixels with a positive side, or the image's
 * size is wrong.
 */
export function enlargeToFace(gray: RawImage, box: CropBox): Float32Array {
  if (box.size > IMAGE_SIZE) {
    throw new UsageError(`enlargeToFace: box ${JSON.stringify(box)} is larger than ${IMAGE_SIZE}`);
  }
  const square = cutSquare(gray, box);
  if (box.size < IMAGE_SIZE) return enlargeBilinear(square, box.size);
  const face = new Float32Array(IMAGE_SIZE * IMAGE_SIZE);
  for (let i = 0; i < face.length; i++) face[i] = square[i] / 255;
  return face;
}

/**
 * The `size × size` bytes of the box, zero outside the image.
 *
 * @throws {UsageError} when the box is not whole pixels with a positive side, or the image's size is wrong.
 */
export function cutSquare(gray: RawImage, box: CropBox): Uint8Array {
  const { x, y, size } = box;
  if (![x, y, size].every(Number.isInteger) || size < 1) {
    throw new UsageError(`cropToFace: box ${JSON.stringify(box)} must be whole pixels with a side ≥ 1`);
  }
  if (gray.data.length !== gray.width * gray.height) {
    throw new UsageError(
      `cropToFace: ${gray.data.length} bytes for a ${gray.width}×${gray.height} one-channel image`,
    );
  }
  const out = new Uint8Array(size * size);
  const x0 = Math.max(0, x), x1 = Math.min(gray.width, x + size);
  if (x0 >= x1) return out;
  for (let row = Math.max(0, y); row < Math.min(gray.height, y + size); row++) {
    const src = row * gray.width;
    out.set(gray.data.subarray(src + x0, src + x1), (row - y) * size + (x0 - x));
  }
  return out;
}

/** Bilinear enlargement of a `size × size` square to 96×96, centre-aligned like {@link toCropCoords}. */
function enlargeBilinear(square: Uint8Array, size: number): Float32Array {
  const n = IMAGE_SIZE;
  const face = new Float32Array(n * n);
  // Source coordinate of each output index; edge pixels are clamped (replicated).
  const i0 = new Int32Array(n), i1 = new Int32Array(n), w = new Float32Array(n);
  for (let u = 0; u < n; u++) {
    const s = Math.min(size - 1, Math.max(0, (u + 0.5) * size / n - 0.5));
    i0[u] = Math.floor(s);
    i1[u] = Math.min(size - 1, i0[u] + 1);
    w[u] = s - i0[u];
  }
  for (let v = 0; v < n; v++) {
    const r0 = i0[v] * size, r1 = i1[v] * size, wy = w[v];
    for (let u = 0; u < n; u++) {
      const top = square[r0 + i0[u]] + (square[r0 + i1[u]] - square[r0 + i0[u]]) * w[u];
      const bottom = square[r1 + i0[u]] + (square[r1 + i1[u]] - square[r1 + i0[u]]) * w[u];
      face[v * n + u] = (top + (bottom - top) * wy) / 255;
    }
  }
  return face;
}
