/**
 * The CNN face detector's command-line options, shared by `deno task predict` and
 * `deno task evaluate --end-to-end` (`prefix` goes before each description, e.g. `"--end-to-end: "`).
 *
 * @module
 */
import { DEFAULT_TILES } from "../lib/face/cnn_detector.ts";

/** `--cnn-detector DIR`, `--cnn-threshold T`, `--cnn-tiles N`. */
export function cnnDetectorArgs(prefix = "") {
  return {
    "cnn-detector": {
      type: "string",
      description: `${prefix}the CNN detector's folder (default data/face-detector)`,
    },
    "cnn-threshold": {
      type: "number",
      min: 0.01,
      max: 0.99,
      description: `${prefix}the CNN detector's score threshold (default: its metadata's)`,
    },
    "cnn-tiles": {
      type: "number",
      integer: true,
      min: 1,
      max: 4,
      description:
        `${prefix}tiles across the photo the CNN detector also searches, for small faces (1: none; ` +
        `default ${DEFAULT_TILES})`,
    },
  } as const;
}
