/**
 * The README's results on real photos, regenerated: for each model folder given, the validation faces of
 * its own training split (re-made from its metadata) scored on ground-truth crops and end to end (detect →
 * crop → refine → keypoints in the photo's pixels) under several settings, per dataset part.
 *
 * `deno run -A tools/photo_results.ts [--data DATASET] [--split validation|all] MODEL_DIR...`: every model is
 * scored on the validation faces of the FIRST model's split (so the rows compare like with like; a model
 * trained on another split may have seen some of them, which the README says where it matters)
 * (default data `../shared/data/ytf68+../shared/data/300w`). Each part is predicted in its own annotation
 * convention where the model has one (`deno task calibrate`; `--convention` forces one). Detections are cached in
 * `outputs/cache/detections/`, so the second setting onwards costs only the predictions. Timings are wall
 * time per face on whatever else the machine is doing: measure them on a quiet machine.
 *
 * @module
 */
import { DATASET_CACHE_DIR } from "../lib/data/dataset_cache_io.ts";
import { parseArgs, runCli, usage } from "../cli/args.ts";
import { UsageError } from "../lib/core/errors.ts";
import { initBackend } from "../lib/backend_io.ts";
import { facePartNames, loadDataset } from "../lib/data/spec_io.ts";
import { type EndToEndReport, runEndToEnd } from "../lib/evaluate/end_to_end_io.ts";
import {
  conventionsLine,
  evaluate,
  type Metrics,
  metricsByPart,
  predictByConvention,
} from "../lib/evaluate/metrics.ts";
import { NO_CONVENTION } from "../lib/models/calibration.ts";
import { loadKeypointModel, readMetadata } from "../lib/models/folder_io.ts";
import { resolveModelDir } from "../lib/models/artifacts_io.ts";
import { DEFAULT_DETECTOR, DEFAULT_FLIP, DEFAULT_REFINE, DEFAULT_SCALES } from "../lib/face/predict_io.ts";
import { splitLikeTraining } from "../lib/train/train_io.ts";

const SPEC = {
  data: {
    type: "string",
    default: "../shared/data/ytf68+../shared/data/300w",
    description: "the dataset the models were trained on",
  },
  split: {
    type: "string",
    choices: ["validation", "all"],
    default: "validation",
    description: "score the first model's validation faces, or every face",
  },
  convention: {
    type: "string",
    description:
      "annotation convention for every part (none: off; default: each part's own, else the model's)",
  },
  "defaults-only": {
    type: "boolean",
    description: "end to end, only predict's defaults (detector, refinement, flip): for comparing runs",
  },
} as const;

async function main(): Promise<void> {
  const args = parseArgs(Deno.args, SPEC, { positionals: true });
  if (args.help) {
    return console.log(
      usage(
        "deno run -A tools/photo_results.ts",
        "The README's results on real photos.",
        SPEC,
        "MODEL_DIR...",
      ),
    );
  }
  const { data, split, _: models } = args;
  if (models.length === 0) throw new UsageError("name at least one model folder (see --help)");
  await initBackend();
  const pct = (v: number) => Number.isFinite(v) ? `${(100 * v).toFixed(2)} %` : "–";
  const allSettings = [
    { name: "frontal cascade, one shot", refine: 0, flip: false, detector: "default" },
    { name: "frontal cascade, refine 1", refine: 1, flip: false, detector: "default" },
    { name: "frontal cascade, refine 2", refine: 2, flip: false, detector: "default" },
    { name: "cascade chain, refine 1", refine: 1, flip: false, detector: "chain" },
    { name: "cascade chain, refine 1, flip", refine: 1, flip: true, detector: "chain" },
    { name: "CNN detector, refine 1, flip", refine: 1, flip: true, detector: "cnn" },
    {
      name: "CNN ∪ frontal, else chain, refine 1, flip",
      refine: 1,
      flip: true,
      detector: "cnn|default+chain",
    },
    {
      name: `CNN ∪ frontal, else chain, refine 1, flip, scales ${DEFAULT_SCALES.join("/")}`,
      refine: 1,
      flip: true,
      scales: DEFAULT_SCALES,
      detector: "cnn|default+chain",
    },
  ];
  // predict's defaults, from the constants predict itself uses.
  const isDefault = (s: (typeof allSettings)[number]) =>
    s.refine === DEFAULT_REFINE && s.flip === DEFAULT_FLIP && s.detector === DEFAULT_DETECTOR &&
    JSON.stringify(s.scales ?? []) === JSON.stringify(DEFAULT_SCALES);
  const settings = args["defaults-only"] ? allSettings.filter(isDefault) : allSettings;

  const splitModel = await readMetadata(await resolveModelDir(models[0]));
  for (const dir of models) {
    const model = await loadKeypointModel(dir, { convention: NO_CONVENTION });
    let ds = await loadDataset(data, { cacheDir: DATASET_CACHE_DIR });
    if (split === "validation") ds = splitLikeTraining(ds, splitModel, "validation");
    console.log(`\n## ${dir} (${model.metadata.model}) on ${ds.n} faces of ${data} (${split})\n`);

    // Ground-truth crops: the 96×96 faces the dataset holds, without TTA, with flip, and with flip and
    // scales (evaluate's default).
    console.log(
      "| crops | part | faces | RMSE (96 px) | NME | failures (NME > 10 %) |\n|---|---|---:|---:|---:|---:|",
    );
    const cropSettings = [
      { name: "ground truth", flip: false, scales: [] },
      { name: "ground truth + flip", flip: true, scales: [] },
      {
        name: `ground truth + flip + scales ${DEFAULT_SCALES.join("/")}`,
        flip: true,
        scales: DEFAULT_SCALES,
      },
    ];
    let conventions: Record<string, string> = {};
    for (const { name, flip, scales } of cropSettings) {
      const byConvention = await predictByConvention(model, ds.images, facePartNames(ds, data), {
        flip,
        scales,
        convention: args.convention,
      });
      const pred = byConvention.pred;
      conventions = byConvention.conventions;
      const rows: [string, Metrics][] = [...Object.entries(metricsByPart(pred, ds) ?? {}), [
        "all",
        evaluate(pred, ds.keypoints),
      ]];
      for (const [part, m] of rows) {
        console.log(
          `| ${name} | ${part} | ${m.n} | ${m.rmse_px.toFixed(3)} | ${pct(m.nme)} | ` +
            `${pct(m.failure_rate_10)} |`,
        );
      }
    }
    model.model.dispose();
    console.log(`\n${conventionsLine(conventions)}`);

    console.log(
      "\n| end to end | part | faces | detected | NME | failures (NME > 10 % or missed) | ms / face |",
    );
    console.log("|---|---|---:|---:|---:|---:|---:|");
    for (const s of settings) {
      const r = await runEndToEnd({
        model: dir,
        data,
        split: split === "validation" ? "validation" : undefined,
        splitFrom: models[0],
        refine: s.refine,
        flip: s.flip,
        scales: s.scales,
        detectorSpec: s.detector,
        cache: true,
        progress: false,
        convention: args.convention,
      });
      const rows: [string, EndToEndReport][] = [...Object.entries(r.parts ?? {}), ["all", r]];
      for (const [part, p] of rows) {
        console.log(
          `| ${s.name} | ${part} | ${p.n} | ${(100 * p.detected / p.n).toFixed(1)} % | ${pct(p.nme)} | ` +
            `${pct(p.failure_rate_10)} | ${p.ms_per_image.toFixed(0)} |`,
        );
      }
    }
  }
}

// Bad model folders or data names end as one line (runCli), not a stack trace.
await runCli(main);
