/**
 * Keypoint-aware augmentation: transforms with a probability each, composed into one seeded, replayable
 * {@link Augmenter}.
 *
 * @module
 */
export * from "./augment.ts";
