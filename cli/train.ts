/**
 * `deno task train --model lenet|thesis-resnet|resnet50|resnet18-slim --data DATASET [--epochs N] [--batch B]
 * [--backend webgpu|wasm|cpu] [--out DIR] [--resume | --overwrite]` and more (see `--help`): trains a model
 * with a progress bar on stderr, checkpoints after every epoch into `--out` (default
 * `outputs/models/<model>`), prints the best validation metrics, then measures the model's annotation
 * conventions on the training faces (`deno task calibrate`; `--no-calibrate` skips it). A folder that
 * already holds a model is refused unless `--resume` continues it or `--overwrite` replaces it.
 *
 * Exit codes: 0 done, 1 training failed (e.g. the loss diverged), 2 bad input.
 *
 * @module
 */
import { BACKEND_ARG } from "./backend_arg.ts";
import { DATASET_CACHE_DIR } from "../lib/data/dataset_cache_io.ts";
import { parseArgs, runCli, usage } from "./args.ts";
import { initBackend } from "../lib/backend_io.ts";
import {
  checkCheckpointModel,
  checkFreshRunFolder,
  checkRunFolderWritable,
  readCheckpointState,
} from "../lib/train/checkpoint_io.ts";
import { DATASET_SPEC_HELP, loadDataset } from "../lib/data/spec_io.ts";
import { UsageError } from "../lib/core/errors.ts";
import { comparisonTable } from "../lib/evaluate/metrics.ts";
import { MODEL_NAMES } from "../lib/models/registry.ts";
import { formatDuration, terminalProgress } from "../lib/train/progress_io.ts";
import { checkInitModel, DEFAULT_CONFIG, train } from "../lib/train/train_io.ts";
import { recipeOf, SELECT_BY_NAMES, type SelectBy, type TrainingRecipe } from "../lib/train/recipes.ts";
import { AUGMENTATIONS } from "../lib/augment/augment.ts";
import { calibrateModel, MIN_CONVENTION_FACES } from "../lib/train/calibrate_io.ts";
import { calibrationTable } from "../lib/models/calibration.ts";
import { LOSS_NAMES, type LossName } from "../lib/train/train_step.ts";

const SPEC = {
  model: { type: "string", choices: MODEL_NAMES, required: true, description: "architecture to train" },
  data: {
    type: "string",
    required: true,
    description:
      "dataset: synthetic[:N], a Kaggle CSV, a 68-landmark folder[:training|:test], a 300-W folder",
  },
  epochs: { type: "number", integer: true, min: 1, max: 100_000, description: "last epoch (default 30)" },
  batch: {
    type: "number",
    integer: true,
    min: 1,
    max: 4096,
    description: "batch size (on wasm, a batch too big for the 4 GiB heap runs as micro-batches)",
    default: 32,
  },
  backend: BACKEND_ARG,
  out: { type: "string", description: "run folder (default outputs/models/<model>)" },
  resume: { type: "boolean", description: "continue from the checkpoint in --out" },
  init: {
    type: "string",
    description: "start from this trained model folder's weights (same --model) instead of fresh ones: " +
      "fine-tune it on --data, or give it another schedule cycle",
  },
  overwrite: { type: "boolean", description: "replace a model already in --out (else refused)" },
  seed: {
    type: "number",
    integer: true,
    default: 0,
    description: "seed of weights, split, shuffles, augmentation",
  },
  lr: {
    type: "number",
    min: 1e-8,
    max: 1,
    description: "Adam's initial learning rate (default 1e-3; a resume keeps the run's)",
  },
  validation: {
    type: "number",
    min: 0,
    max: 0.9,
    default: 0.2,
    description: "validation fraction (by person)",
  },
  patience: { type: "number", integer: true, min: 0, description: "early stopping, 0 = off (default 8)" },
  select: {
    type: "string",
    choices: SELECT_BY_NAMES,
    description:
      "validation metric that picks the best epoch, drives the plateau and early stopping (default rmse); " +
      "last: keep the last epoch (a cosine run's end)",
  },
  augment: { type: "boolean", default: true, description: "on-the-fly augmentation (--no-augment: none)" },
  augmentation: {
    type: "string",
    choices: Object.keys(AUGMENTATIONS),
    description: "which augmentation: the thesis-like default (the default), wild (±30°, framing, " +
      "occlusion, blur, light), or wild-no-framing (wild without the detector's framing spread)",
  },
  loss: { type: "string", choices: LOSS_NAMES, description: "training loss (default mse)" },
  schedule: {
    type: "string",
    choices: ["plateau", "cosine"],
    description:
      "learning-rate schedule: reduce on plateau (default), or cosine down to --min-lr over --epochs",
  },
  "min-lr": { type: "number", min: 0, max: 1, description: "the schedules' lowest rate (default 1e-6)" },
  "drop-incomplete": { type: "boolean", description: "keep only faces with all 15 keypoints (the thesis)" },
  limit: { type: "number", integer: true, min: 1, description: "read at most N faces" },
  calibrate: {
    type: "boolean",
    default: true,
    description: "afterwards, measure the annotation conventions on the training faces (deno task calibrate)",
  },
  recipe: {
    type: "boolean",
    description: "the model's recipe (lib/train/recipes.ts) for epochs, lr, min-lr, loss, schedule, " +
      "augmentation, select and patience where not given (the notebooks' full runs use it)",
  },
} as const;

/** The options a recipe sets, where the command line leaves them out; else the defaults in the help. */
function recipeOrDefaults(model: string, useRecipe: boolean): TrainingRecipe {
  if (useRecipe) return recipeOf(model);
  const d = DEFAULT_CONFIG;
  return {
    epochs: d.epochs,
    lr: d.lr,
    minLr: d.minLr,
    loss: d.loss,
    schedule: d.schedule,
    augmentation: "default",
    selectBy: d.selectBy,
    patience: d.earlyStopping,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(Deno.args, SPEC);
  if (args.help) {
    console.log(usage("deno task train", "Trains a keypoint model.", SPEC) + "\n" + DATASET_SPEC_HELP);
    return;
  }
  const out = args.out ?? `outputs/models/${args.model}`;
  // Fail fast, before loading data: a resume of another model's run.
  const previous = await readCheckpointState(out);
  if (args.resume && previous) checkCheckpointModel(out, previous, args.model);
  if (args.resume && args.overwrite) throw new UsageError("--resume and --overwrite exclude each other");
  await checkRunFolderWritable(out);
  if (!args.resume && !args.overwrite) await checkFreshRunFolder(out);
  if (!args.resume && previous) {
    console.error(
      `note: ${out} holds a run (${previous.model}, epoch ${previous.epoch}); replacing it (--overwrite)`,
    );
  }
  if (args.resume && !previous) console.error(`note: no checkpoint in ${out}; starting a fresh run`);
  if (args.init !== undefined) await checkInitModel(args.init, args.model);

  const backend = await initBackend({ backend: args.backend });
  console.error(`backend: ${backend.backend}`);
  const ds = await loadDataset(args.data, { limit: args.limit, cacheDir: DATASET_CACHE_DIR });
  const r = recipeOrDefaults(args.model, args.recipe);
  const result = await train(ds, {
    model: args.model,
    epochs: args.epochs ?? r.epochs,
    batchSize: args.batch,
    lr: args.lr ?? r.lr,
    validation: args.validation,
    earlyStopping: args.patience ?? r.patience,
    selectBy: (args.select ?? r.selectBy) as SelectBy,
    seed: args.seed,
    augment: args.augment
      ? AUGMENTATIONS[(args.augmentation ?? r.augmentation) as keyof typeof AUGMENTATIONS]()
      : null,
    loss: (args.loss ?? r.loss) as LossName,
    schedule: (args.schedule ?? r.schedule) as "plateau" | "cosine",
    minLr: args["min-lr"] ?? r.minLr,
    completeOnly: args["drop-incomplete"],
    out,
    resume: args.resume && previous !== null,
    init: args.init,
    overwrite: args.overwrite,
    command: ["deno task train", ...Deno.args].join(" "),
  }, terminalProgress());

  const perEpoch = result.history.reduce((a, r) => a + r.seconds, 0) / Math.max(1, result.history.length);
  console.log(
    `\nbest epoch ${result.bestEpoch} of ${result.history.length} (${result.stoppedBy}), ` +
      `${formatDuration(perEpoch)} per epoch on ${backend.backend}; model saved in ${out}\n`,
  );
  console.log(comparisonTable([{ name: `${args.model} (validation)`, metrics: result.metrics }]));
  if (args.calibrate) {
    const cal = await calibrateModel(out, { data: args.data, dataset: ds });
    console.log(
      cal
        ? `\nAnnotation conventions, measured on the training faces and saved with the model (deno task ` +
          `calibrate; --convention none in predict and evaluate for the network's own output):\n\n` +
          calibrationTable(cal)
        : `\nNot calibrated: fewer than ${MIN_CONVENTION_FACES} training faces (deno task calibrate).`,
    );
  }
  result.model.dispose();
}

if (import.meta.main) await runCli(main);
