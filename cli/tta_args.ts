/**
 * `--scale-tta F`, shared by `deno task predict` and `deno task evaluate --end-to-end`: scale test-time
 * augmentation as one number, the crop also scaled by 1 − F and 1 + F (`PredictOptions.scales`).
 *
 * @module
 */
import { DEFAULT_SCALES } from "../lib/face/predict_io.ts";

/** predict's default F, read off `DEFAULT_SCALES` (0.92, 1.08 → 0.08). */
export const DEFAULT_SCALE_TTA: number = Math.round((1 - DEFAULT_SCALES[0]) * 1000) / 1000;

/** The option's spec; `prefix` goes before the description, `fallback` is its default. */
export function scaleTtaArg(prefix: string, fallback: number) {
  return {
    "scale-tta": {
      type: "number",
      min: 0,
      max: 0.5,
      default: fallback,
      description: `${prefix}also predict on the crop scaled by 1 − F and 1 + F and keep the median of the ` +
        `three (0: off)`,
    },
  } as const;
}

/** The crop scales of `--scale-tta F`: none for 0. */
export function scalesOf(f: number): number[] {
  return f > 0 ? [1 - f, 1 + f] : [];
}
