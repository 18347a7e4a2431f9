/**
 * Training: the loop with validation, early stopping and checkpoints (`train_io.ts`), one gradient step
 * with micro-batching (`train_step.ts`), progress displays (`progress_io.ts`), and the CNN face detector's
 * training (`detector_train_io.ts`).
 *
 * @module
 */
export * from "./train_io.ts";
export * from "./train_step.ts";
export * from "./progress_io.ts";
export * from "./detector_train_io.ts";
