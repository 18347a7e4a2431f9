/**
 * `deno task calibrate --model DIR --data DATASET [--default NAME] [--no-flip]`: measures the model's
 * annotation conventions (`lib/models/calibration.ts`: the mean offset of each keypoint coordinate between
 * its predictions and the labels, per part of its training data) on the training split it was trained on,
 * and writes them into its `metadata.json`. `deno task predict`, `evaluate`, the video pipeline and the
 * camera page then add them to the model's output.
 *
 * Exit codes: 0 done, 1 failure, 2 bad input (no such model folder, unknown dataset or part, bad option).
 *
 * @module
 */
import { BACKEND_ARG } from "./backend_arg.ts";
import { parseArgs, runCli, usage } from "./args.ts";
import { initBackend } from "../lib/backend_io.ts";
import { DATASET_SPEC_HELP } from "../lib/data/spec_io.ts";
import { ALL_PARTS, calibrateModel, MIN_CONVENTION_FACES } from "../lib/train/calibrate_io.ts";
import { calibrationTable } from "../lib/models/calibration.ts";

const SPEC = {
  model: { type: "string", required: true, description: "model folder (as written by deno task train)" },
  data: { type: "string", required: true, description: "the dataset the model was trained on" },
  default: {
    type: "string",
    default: ALL_PARTS,
    description:
      "the convention where the data's part has none of its own: a part, parts joined by + (pooled; " +
      "NAME=A+B names it), or all",
  },
  flip: {
    type: "boolean",
    default: true,
    description: "measure with flip test-time augmentation, as predict and evaluate predict",
  },
  backend: BACKEND_ARG,
} as const;

const SUMMARY = "Measures a model's annotation conventions on its training faces.";

async function main(): Promise<void> {
  const args = parseArgs(Deno.args, SPEC);
  if (args.help) return console.log(`${usage("deno task calibrate", SUMMARY, SPEC)}\n${DATASET_SPEC_HELP}`);
  await initBackend({ backend: args.backend });
  const cal = await calibrateModel(args.model, {
    data: args.data,
    defaultConvention: args.default === ALL_PARTS ? undefined : args.default,
    flip: args.flip,
  });
  if (!cal) {
    return console.log(
      `${args.model}: fewer than ${MIN_CONVENTION_FACES} training faces, too few for a convention; nothing written`,
    );
  }
  console.log(
    `${args.model}: annotation conventions from the training faces (mean offset in 96-px crop pixels)\n`,
  );
  console.log(calibrationTable(cal));
}

if (import.meta.main) await runCli(main);
