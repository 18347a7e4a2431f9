/**
 * `deno task train-detector --data DATASET [--epochs N] [--out DIR] [--overwrite]`: trains the CNN face
 * detector on the photos of a 68-landmark or 300-W dataset (the training part of the same split as
 * `deno task train`), prints one line per epoch, and writes the epoch that finds the most validation faces
 * to `--out` (default `outputs/models/face-detector`) with float16 weights. Use it with
 * `deno task predict --detector cnn --cnn-detector DIR`, or copy it to `data/face-detector` to ship it.
 *
 * Exit codes: 0 done, 1 training failed, 2 bad input.
 *
 * @module
 */
import { BACKEND_ARG } from "./backend_arg.ts";
import { DATASET_CACHE_DIR } from "../lib/data/dataset_cache_io.ts";
import { parseArgs, runCli, usage } from "./args.ts";
import { initBackend } from "../lib/backend_io.ts";
import { DATASET_SPEC_HELP, loadDataset } from "../lib/data/spec_io.ts";
import { UsageError } from "../lib/core/errors.ts";
import { formatDuration } from "../lib/train/progress_io.ts";
import { DETECTOR_TRAIN_DEFAULTS, trainFaceDetector } from "../lib/train/detector_train_io.ts";

const SPEC = {
  data: {
    type: "string",
    required: true,
    description: "photos with 68 landmarks: a 68-landmark folder[:training], a 300-W folder, or A+B",
  },
  epochs: {
    type: "number",
    integer: true,
    min: 1,
    max: 10_000,
    default: DETECTOR_TRAIN_DEFAULTS.epochs,
    description: "epochs (cosine learning rate to its floor over them)",
  },
  batch: { type: "number", integer: true, min: 1, max: 1024, default: 32, description: "photos per step" },
  lr: {
    type: "number",
    min: 0,
    max: 1,
    default: DETECTOR_TRAIN_DEFAULTS.lr,
    description: "first learning rate",
  },
  validation: {
    type: "number",
    min: 0,
    max: 0.9,
    default: DETECTOR_TRAIN_DEFAULTS.validation,
    description: "held-out fraction (by person / photo), as deno task train's --validation",
  },
  seed: { type: "number", integer: true, default: 0, description: "seed of weights, split and augmentation" },
  limit: { type: "number", integer: true, min: 1, description: "read at most N faces per dataset part" },
  out: { type: "string", default: "outputs/models/face-detector", description: "folder for the detector" },
  overwrite: { type: "boolean", description: "replace a detector already in --out (else refused)" },
  backend: BACKEND_ARG,
} as const;

async function main(): Promise<void> {
  const args = parseArgs(Deno.args, SPEC);
  if (args.help) {
    console.log(
      usage("deno task train-detector", "Trains the CNN face detector.", SPEC) + "\n" + DATASET_SPEC_HELP,
    );
    return;
  }
  if (!args.overwrite) {
    try {
      await Deno.stat(`${args.out}/model.json`);
      throw new UsageError(`${args.out} already holds a detector: pass --overwrite to replace it`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  const backend = await initBackend({ backend: args.backend });
  const ds = await loadDataset(args.data, { limit: args.limit, cacheDir: DATASET_CACHE_DIR });
  const command = ["deno task train-detector", ...Deno.args].join(" ");
  console.error(`training the face detector on ${ds.name} (${ds.n} faces), ${backend.backend}`);
  const start = performance.now();
  const result = await trainFaceDetector(ds, {
    epochs: args.epochs,
    batchSize: args.batch,
    lr: args.lr,
    validation: args.validation,
    seed: args.seed,
    out: args.out,
    command,
  }, (r) => {
    const v = r.validation;
    console.log(
      `epoch ${r.epoch}/${args.epochs}: loss ${
        r.loss.toFixed(3)
      }, validation faces found ${v.found}/${v.faces}` +
        ` (IoU ≥ 0.5, mean ${Number.isFinite(v.meanIou) ? v.meanIou.toFixed(3) : "–"}), ${v.falseBoxes} ` +
        `other boxes, ${r.seconds.toFixed(0)} s`,
    );
  });
  result.model.dispose();
  const best = result.history[result.bestEpoch - 1];
  console.log(
    `best epoch ${result.bestEpoch}: ${best.validation.found}/${best.validation.faces} validation faces found; ` +
      `written to ${args.out} (${
        formatDuration((performance.now() - start) / 1000)
      }, ${result.trainPhotos} ` +
      `training photos)`,
  );
}

if (import.meta.main) await runCli(main);
