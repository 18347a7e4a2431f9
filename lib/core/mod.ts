/**
 * The shared vocabulary: keypoint names and the tables around them, the two error types, the seeded random
 * numbers, and image files in and out.
 *
 * @module
 */
export * from "./constants.ts";
export * from "./box.ts";
export * from "./errors.ts";
export * from "./flip.ts";
export * from "./image.ts";
export * from "./rng.ts";
export * from "./image_io.ts";
export * from "./json_io.ts";
