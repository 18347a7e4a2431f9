/**
 * Pixel work the browser page does itself, because the library does it with sharp (libvips), which does
 * not run in a browser: RGBA canvas pixels to gray as libvips' "b-w" does, and shrinking a square crop to
 * 96×96 with libvips' linear (triangle) kernel. `tests/track_test.ts` checks both against sharp.
 *
 * Pure TypeScript (no Deno, npm or DOM imports), so Deno tests import it too.
 *
 * @module
 */

import { UsageError } from "../lib/core/errors.ts";
import { IMAGE_SIZE } from "../lib/core/constants.ts";
import type { CropBox } from "../lib/core/box.ts";

/** sRGB byte → linear light. */
const TO_LINEAR = Float32Array.from({ length: 256 }, (_, v) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

/** Linear light → sRGB byte. */
function toSrgbByte(l: number): number {
  const c = l <= 0.0031308 ? 12.92 * l : 1.055 * l ** (1 / 2.4) - 0.055;
  return Math.max(0, Math.min(255, Math.round(255 * c)));
}

/**
 * Gray bytes from interleaved RGB or RGBA pixels, like libvips' sRGB → "b-w": Rec. 709 luminance in linear
 * light, encoded back with the sRGB curve (alpha ignored). Within one level of `readGray`.
 */
export function rgbToGrayBytes(
  pixels: ArrayLike<number>,
  width: number,
  height: number,
  channels: 3 | 4,
): Uint8Array {
  const out = new Uint8Array(width * height);
  // 65536-entry table of encoded results would be large; quantising linear light to 1/4096 keeps ±1 level.
  const steps = 4096;
  const encode = Uint8Array.from({ length: steps + 1 }, (_, i) => toSrgbByte(i / steps));
  for (let i = 0, p = 0; i < out.length; i++, p += channels) {
    const l = 0.2126 * TO_LINEAR[pixels[p]] + 0.7152 * TO_LINEAR[pixels[p + 1]] +
      0.0722 * TO_LINEAR[pixels[p + 2]];
    out[i] = encode[Math.round(l * steps)];
  }
  return out;
}

/** Triangle-kernel weights for shrinking `size` samples to 96: per output index, first source index and weights. */
function triangleTaps(size: number): { start: Int32Array; weights: Float32Array[] } {
  const n = IMAGE_SIZE, f = size / n;
  const start = new Int32Array(n);
  const weights: Float32Array[] = [];
  for (let u = 0; u < n; u++) {
    const centre = (u + 0.5) * f - 0.5;
    const lo = Math.ceil(centre - f), hi = Math.floor(centre + f);
    const w = new Float32Array(hi - lo + 1);
    let sum = 0;
    for (let s = lo; s <= hi; s++) sum += w[s - lo] = Math.max(0, 1 - Math.abs(s - centre) / f);
    for (let k = 0; k < w.length; k++) w[k] /= sum;
    start[u] = lo, weights.push(w);
  }
  return { start, weights };
}

/**
 * Cuts `box` out of a gray image (black outside it) and shrinks it to 96×96 floats in [0, 1] with a
 * triangle kernel as wide as the shrink factor, centre-aligned like `toCropCoords` (what `cropToFace`
 * does with sharp for boxes larger than 96). Edge pixels of the square are replicated.
 */
export function shrinkCrop(
  gray: { data: Uint8Array; width: number; height: number },
  box: CropBox,
): Float32Array {
  const { x, y, size } = box;
  if (!(size > IMAGE_SIZE) || ![x, y, size].every(Number.isInteger)) {
    throw new UsageError(
      `shrinkCrop: box ${JSON.stringify(box)} must be whole pixels with a side > ${IMAGE_SIZE}`,
    );
  }
  const px = (r: number, c: number) => {
    r = Math.min(size - 1, Math.max(0, r)), c = Math.min(size - 1, Math.max(0, c));
    const gy = y + r, gx = x + c;
    return gy < 0 || gx < 0 || gy >= gray.height || gx >= gray.width ? 0 : gray.data[gy * gray.width + gx];
  };
  const { start, weights } = triangleTaps(size);
  const n = IMAGE_SIZE;
  // Horizontal pass over every source row, then vertical.
  const rows = new Float32Array(size * n);
  for (let r = 0; r < size; r++) {
    for (let u = 0; u < n; u++) {
      const w = weights[u];
      let acc = 0;
      for (let k = 0; k < w.length; k++) acc += w[k] * px(r, start[u] + k);
      rows[r * n + u] = acc;
    }
  }
  const out = new Float32Array(n * n);
  for (let v = 0; v < n; v++) {
    const w = weights[v];
    for (let u = 0; u < n; u++) {
      let acc = 0;
      for (let k = 0; k < w.length; k++) {
        const r = Math.min(size - 1, Math.max(0, start[v] + k));
        acc += w[k] * rows[r * n + u];
      }
      out[v * n + u] = Math.round(acc) / 255;
    }
  }
  return out;
}
