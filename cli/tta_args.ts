/**
 * `--scale-tta F`, shared by `deno task predict` and `deno task evaluate --end-to-end`: scale test-time
 * augmentation as one number, the crop also scaled by 1 − F and 1 + F (`scaleTtaScales`).
 *
 * @module
 */

/** The option's spec; `prefix` goes before the description, `fallback` is its default. */
export function scaleTtaArg(prefix: string, fallback: number) {
  return {
    "scale-tta": {
      type: "number",
      min: 0,
      max: 0.5,
      default: fallback,
      description: `${prefix}also predict on the crop scaled by 1 − N and 1 + N and keep the median of the ` +
        `three (0: off)`,
    },
  } as const;
}
