/**
 * Evaluation: keypoint metrics on 96×96 crops (`metrics.ts`) and the end-to-end score in the original
 * photo's pixels, detection included (`end_to_end_io.ts`).
 *
 * @module
 */
export * from "./metrics.ts";
export * from "./end_to_end_io.ts";
