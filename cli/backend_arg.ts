/**
 * The `--backend` option every command that runs a model takes, spelled once.
 *
 * @module
 */
import { BACKEND_NAMES } from "../lib/backend_io.ts";

/** `--backend webgpu|wasm|cpu`; without it `initBackend` picks the best that starts. */
export const BACKEND_ARG = {
  type: "string",
  choices: BACKEND_NAMES,
  description: "tfjs backend (default: best found)",
} as const;
