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
import { ALL_PARTS, calibrateModel } from "../lib/train/calibrate_io.ts";

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
    defaultConvention: args.default,
    flip: args.flip,
  });
  const faces = cal.measured?.faces as Record<string, number>;
  console.log(
    `${args.model}: annotation conventions from the training faces (x, y: mean offset in 96-px crop pixels)`,
  );
  console.log("| convention | training faces | mean x | mean y | largest |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const [name, o] of Object.entries(cal.conventions)) {
    const mean = (axis: number) =>
      o.filter((_, j) => j % 2 === axis).reduce((a, b) => a + b, 0) / (o.length / 2);
    const largest = Math.max(...o.map(Math.abs));
    const n = faces[name] ?? "pooled";
    console.log(
      `| ${name}${name === cal.default ? " (default)" : ""} | ${n} | ${mean(0).toFixed(2)} | ${
        mean(1).toFixed(2)
      } | ${largest.toFixed(2)} |`,
    );
  }
}

if (import.meta.main) await runCli(main);
