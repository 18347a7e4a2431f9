/**
 * The options of keypoint inference on photos, shared by `deno task predict` and `deno task evaluate`, with
 * predict's defaults in both, so that `evaluate --end-to-end` measures what `predict` does unless told
 * otherwise: the detector, refinement rounds, flip and scale test-time augmentation, the CNN detector's
 * settings. `prefix` goes before the descriptions of the photo-only options (e.g. `"--end-to-end: "`); the
 * annotation convention, flip and scale test-time augmentation apply to crops too.
 *
 * @module
 */
import { DEFAULT_TILES } from "../lib/face/cnn_detector.ts";
import { DETECTOR_SPEC_HELP } from "../lib/face/detectors_io.ts";
import { DEFAULT_DETECTOR, DEFAULT_FLIP, DEFAULT_REFINE, DEFAULT_SCALE_TTA } from "../lib/face/predict_io.ts";

/**
 * `--convention NAME`, `--flip`, `--refine N`, `--scale-tta F` (as one number: the crop also scaled by 1 − F and 1 + F, see
 * `scaleTtaScales`), `--detector SPEC`, `--cnn-detector DIR`, `--cnn-threshold T`, `--cnn-tiles N`.
 */
export function inferenceArgs(prefix = "") {
  return {
    convention: {
      type: "string",
      description: "annotation convention to predict in, from the model's deno task calibrate (none: " +
        "the network's own output; default: the model's default, and in evaluate a part's own where it has one)",
    },
    flip: {
      type: "boolean",
      default: DEFAULT_FLIP,
      description: "average with the prediction on the mirrored face (--no-flip: one prediction)",
    },
    refine: {
      type: "number",
      integer: true,
      min: 0,
      max: 5,
      default: DEFAULT_REFINE,
      description: `${prefix}re-crop around the prediction and predict again, N rounds`,
    },
    "scale-tta": {
      type: "number",
      min: 0,
      max: 0.5,
      default: DEFAULT_SCALE_TTA,
      description:
        "also predict on the crop scaled by 1 − N and 1 + N and keep the median of the three (0: off)",
    },
    detector: { type: "string", default: DEFAULT_DETECTOR, description: `${prefix}${DETECTOR_SPEC_HELP}` },
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
