/**
 * `deno task evaluate --model DIR --data DATASET [--json] [--no-flip] [--scale-tta F] [--convention NAME]`:
 * the metrics of a saved model on a dataset's 96×96 faces, with the test-time augmentation of
 * `deno task predict` (flip, and the crop scaled by 1 ± F; `--no-flip`, `--scale-tta 0` turn them off), each
 * part predicted in its own annotation convention where the model's calibration has one (`deno task
 * calibrate`). With `--json`, one JSON object on stdout: `{"n", "rmse_px", "nme", "pck_05", "pck_10",
 * "per_keypoint_rmse_px": {name: px}, "parts"?, "conventions": {part: name}}` (null where a metric cannot be
 * measured); else markdown tables.
 *
 * `--end-to-end` (68-landmark and 300-W datasets): detect the face in each original image, crop, predict,
 * and compare in the photo's pixels, by default exactly as `deno task predict` does (its detector,
 * refinement, flip and scale test-time augmentation: `inference_args.ts`); `--json` prints `{"n",
 * "detected", "nme", "failure_rate_10", "ms_per_image", "detections_cached", "conventions"}` (see
 * lib/evaluate/end_to_end_io.ts; the time of an image whose detection came from the cache leaves out the
 * detector: `--no-cache` times it all).
 *
 * Exit codes: 0 done, 1 failure, 2 bad input (no such model folder, unknown dataset, bad option).
 *
 * @module
 */
import { BACKEND_ARG } from "./backend_arg.ts";
import { DATASET_CACHE_DIR } from "../lib/data/dataset_cache_io.ts";
import { parseArgs, runCli, usage } from "./args.ts";
import { initBackend } from "../lib/backend_io.ts";
import { DATASET_SPEC_HELP, facePartNames, loadDataset } from "../lib/data/spec_io.ts";
import { DataError } from "../lib/core/errors.ts";
import {
  comparisonTable,
  conventionsLine,
  evaluate,
  metricsByPart,
  perKeypointTable,
  predictByConvention,
} from "../lib/evaluate/metrics.ts";
import { NO_CONVENTION } from "../lib/models/calibration.ts";
import { inferenceArgs } from "./inference_args.ts";
import { scaleTtaScales } from "../lib/face/predict_io.ts";
import { splitLikeTraining } from "../lib/train/train_io.ts";
import { loadKeypointModel } from "../lib/models/folder_io.ts";
import { endToEndJson, endToEndTable, runEndToEnd } from "../lib/evaluate/end_to_end_io.ts";

const SPEC = {
  model: { type: "string", required: true, description: "model folder (as written by deno task train)" },
  data: {
    type: "string",
    required: true,
    description:
      "dataset: synthetic[:N], a Kaggle CSV, a 68-landmark folder[:training|:test], a 300-W folder",
  },
  json: { type: "boolean", description: "print one JSON object instead of tables" },
  backend: BACKEND_ARG,
  limit: { type: "number", integer: true, min: 1, description: "read at most N faces" },
  "end-to-end": {
    type: "boolean",
    description: "detect faces in the original images, then compare in their pixels (68-landmark/300-W data)",
  },
  margin: {
    type: "number",
    min: 0,
    max: 2,
    description: "--end-to-end crop margin (default as in training)",
  },
  split: {
    type: "string",
    choices: ["all", "training", "validation"],
    default: "all",
    description: "score only this part of the model's training split, re-made from its metadata",
  },
  cache: {
    type: "boolean",
    default: true,
    description: "--end-to-end: remember detections in outputs/cache/detections (--no-cache: detect again)",
  },
  ...inferenceArgs("--end-to-end: "),
} as const;

async function main(): Promise<void> {
  const args = parseArgs(Deno.args, SPEC);
  if (args.help) {
    console.log(
      usage("deno task evaluate", "Evaluates a saved keypoint model on a dataset.", SPEC) + "\n" +
        DATASET_SPEC_HELP,
    );
    return;
  }
  await initBackend({ backend: args.backend });
  if (args["end-to-end"]) {
    const report = await runEndToEnd({
      model: args.model,
      data: args.data,
      limit: args.limit,
      margin: args.margin,
      split: args.split === "all" ? undefined : args.split as "training" | "validation",
      refine: args.refine,
      flip: args.flip,
      scales: scaleTtaScales(args["scale-tta"]),
      detectorSpec: args.detector,
      cnnDir: args["cnn-detector"],
      cnnThreshold: args["cnn-threshold"],
      cnnTiles: args["cnn-tiles"],
      cache: args.cache,
      convention: args.convention,
    });
    if (report.n === 0) throw new DataError("no images to evaluate", { file: args.data });
    console.log(args.json ? endToEndJson(report) : endToEndTable(report));
    return;
  }
  const predictor = await loadKeypointModel(args.model, { convention: NO_CONVENTION });
  let ds = await loadDataset(args.data, { limit: args.limit, cacheDir: DATASET_CACHE_DIR });
  // Metrics over nothing would print as nulls with exit 0: say why instead.
  if (ds.n === 0) throw new DataError("no faces to evaluate (only a header?)", { file: args.data });
  if (!ds.mask.includes(1)) {
    throw new DataError(`none of the ${ds.n} faces has a labelled keypoint (a test.csv has none)`, {
      file: args.data,
    });
  }
  if (args.split !== "all") {
    ds = splitLikeTraining(ds, predictor.metadata, args.split as "training" | "validation");
  }
  const { pred, conventions } = await predictByConvention(
    predictor,
    ds.images,
    facePartNames(ds, args.data),
    { flip: args.flip, scales: scaleTtaScales(args["scale-tta"]), convention: args.convention },
  );
  const metrics = evaluate(pred, ds.keypoints);
  const parts = metricsByPart(pred, ds);
  predictor.model.dispose();
  if (args.json) {
    console.log(JSON.stringify({ ...metrics, ...(parts ? { parts } : {}), conventions }));
    return;
  }
  const tta = [args.flip ? "flip" : "", args["scale-tta"] ? `scale ±${args["scale-tta"]}` : ""].filter(
    Boolean,
  );
  const name = `${predictor.metadata.model}${tta.length ? ` + ${tta.join(", ")} TTA` : ""}`;
  console.log(`${ds.name}${ds.synthetic ? " (synthetic faces)" : ""}: ${ds.n} faces\n`);
  const rows = [
    ...Object.entries(parts ?? {}).map(([part, m]) => ({ name: `${name} · ${part}`, metrics: m })),
    { name, metrics },
  ];
  console.log(comparisonTable(rows) + "\n");
  console.log(perKeypointTable([{ name, metrics }]) + "\n");
  console.log(conventionsLine(conventions));
}

if (import.meta.main) await runCli(main);
