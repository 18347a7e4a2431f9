/**
 * The target normalisation the thesis used: keypoint coordinates in 96×96 pixels mapped to about [-1, 1]
 * around the image centre, `(p − 48) / 48`. Models are trained and predict in these units; everything
 * outside a model works in pixels.
 *
 * @module
 */

/** Pixel coordinate that maps to 0 (the image centre). */
export const NORM_CENTER = 48;
/** Pixels per normalised unit. */
export const NORM_SCALE = 48;

/** Description stored in a model's metadata so that a reader of the files can invert the outputs. */
export const NORMALISATION = {
  formula: "(p - 48) / 48",
  center: NORM_CENTER,
  scale: NORM_SCALE,
} as const;

/**
 * Pixels to normalised units, element-wise into a new array (NaN stays NaN).
 *
 * @example
 * ```ts
 * normalise(new Float32Array([0, 48, 96])); // Float32Array [-1, 0, 1]
 * ```
 */
export function normalise(pixels: Float32Array): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = (pixels[i] - NORM_CENTER) / NORM_SCALE;
  return out;
}

/**
 * Normalised units back to pixels, element-wise into a new array.
 *
 * @example
 * ```ts
 * denormalise(new Float32Array([-1, 0, 1])); // Float32Array [0, 48, 96]
 * ```
 */
export function denormalise(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] * NORM_SCALE + NORM_CENTER;
  return out;
}
