/**
 * Training checkpoints. One folder holds a run and is replaced atomically after every epoch (temporary
 * folder beside it, then rename), so a crash or Ctrl-C leaves the previous epoch's folder intact:
 *
 * ```text
 * outputs/models/lenet/
 *   model.json, weights.bin   best model so far (lowest validation RMSE): what evaluate/predict load
 *   metadata.json             model name, keypoints, normalisation, data, config, metrics, backend, time
 *   history.json              per-epoch metrics
 *   checkpoint/               the last epoch, for --resume:
 *     model.json, weights.bin   its weights
 *     optimizer.json, .bin      Adam's state (iteration count, first and second moments)
 *     state.json                epoch, learning rate, best validation RMSE, plateau counters, history
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { DataError, UsageError } from "../core/errors.ts";
import { readJson, readJsonIfPresent } from "../core/json_io.ts";
import { readArtifacts, replaceDir, resolveModelDir, writeArtifacts } from "../models/artifacts_io.ts";
import { type ModelMetadata } from "../models/keypoint_model.ts";
import { readMetadata, writeModelFolder } from "../models/folder_io.ts";
import type { EpochRecord } from "./progress_io.ts";

/** Sub-folder with the last epoch's state. */
export const CHECKPOINT_DIR = "checkpoint";
/** Per-epoch metrics file beside the model. */
export const HISTORY_JSON = "history.json";

/** Everything besides tensors that a resumed run needs. */
export interface TrainState {
  /** Model name; a resume with another model is refused. */
  model: string;
  /** Epochs completed. */
  epoch: number;
  /** Learning rate for the next epoch (after reduce-on-plateau). */
  lr: number;
  /** Lowest validation RMSE so far (px) and its epoch. */
  bestValRmse: number;
  bestEpoch: number;
  /** Epochs since the last improvement (drives both the LR schedule and early stopping). */
  epochsSinceBest: number;
  /** Epochs since the learning rate was last reduced or the validation RMSE last improved. */
  epochsSinceLrChange: number;
  /** Seed of the run (shuffles and augmentation of epoch e derive from seed and e). */
  seed: number;
  /** Name and sizes of the data, to warn when a resume uses other data. */
  data: { name: string; train: number; validation: number };
  /** Why training ended, once it has ("epochs", "early-stopping"). */
  finished?: string;
  /** Per-epoch metrics. */
  history: EpochRecord[];
}

/** What {@link saveCheckpoint} writes. */
export interface CheckpointContent {
  /** The best model (written as the folder's model files). */
  best: tf.io.ModelArtifacts;
  /** Metadata of the best model. */
  metadata: ModelMetadata;
  /** The last epoch's model. */
  last: tf.io.ModelArtifacts;
  /** The optimizer's `getWeights()`. */
  optimizerWeights: { name: string; tensor: tf.Tensor }[];
  state: TrainState;
}

/** Writes the run folder `dir` atomically (see the module doc for the layout). */
export async function saveCheckpoint(dir: string, c: CheckpointContent): Promise<void> {
  const optimizer = await tf.io.encodeWeights(c.optimizerWeights);
  await replaceDir(dir, async (tmp) => {
    await writeModelFolder(tmp, c.best, c.metadata);
    await Deno.writeTextFile(join(tmp, HISTORY_JSON), JSON.stringify(c.state.history, null, 1) + "\n");
    const ck = join(tmp, CHECKPOINT_DIR);
    await Deno.mkdir(ck);
    await writeArtifacts(ck, c.last);
    await Deno.writeFile(join(ck, "optimizer.bin"), new Uint8Array(optimizer.data));
    await Deno.writeTextFile(join(ck, "optimizer.json"), JSON.stringify(optimizer.specs));
    await Deno.writeTextFile(join(ck, "state.json"), JSON.stringify(c.state, null, 1) + "\n");
  });
}

/** A checkpoint read back: tensors still encoded, to be restored by the training loop. */
export interface LoadedCheckpoint {
  best: tf.io.ModelArtifacts;
  metadata: ModelMetadata;
  last: tf.io.ModelArtifacts;
  /** Decode with `tf.io.decodeWeights(optimizer.data, optimizer.specs)`. */
  optimizer: { data: ArrayBuffer; specs: tf.io.WeightsManifestEntry[] };
  state: TrainState;
}

/**
 * Reads the run folder `dir` for a resume. Returns `null` when there is no run there yet; throws
 * `UsageError` if it is a run of another model, `DataError` if a file is missing or broken.
 */
export async function loadCheckpoint(dir: string, expectModel?: string): Promise<LoadedCheckpoint | null> {
  const folder = await runFolder(dir);
  if (folder === null) return null;
  const ck = join(folder, CHECKPOINT_DIR);
  const stateFile = join(ck, "state.json");
  const state = await readJson<TrainState>(stateFile, {
    missing: "no checkpoint/state.json: this model folder cannot be resumed",
    missingFile: folder,
  });
  if (expectModel !== undefined) checkCheckpointModel(folder, state, expectModel);
  const optFile = join(ck, "optimizer.bin");
  let optimizer: LoadedCheckpoint["optimizer"];
  try {
    optimizer = {
      data: (await Deno.readFile(optFile)).buffer as ArrayBuffer,
      specs: JSON.parse(await Deno.readTextFile(join(ck, "optimizer.json"))),
    };
  } catch (e) {
    throw new DataError(`cannot read the optimizer state: ${(e as Error).message}`, { file: optFile });
  }
  return {
    best: await readArtifacts(folder),
    metadata: await readMetadata(folder),
    last: await readArtifacts(ck),
    optimizer,
    state,
  };
}

/** The `state.json` of the run in `dir` without reading any weights, or `null` if there is none. */
export async function readCheckpointState(dir: string): Promise<TrainState | null> {
  const folder = await runFolder(dir);
  if (folder === null) return null;
  const found = await readJsonIfPresent<TrainState>(join(folder, CHECKPOINT_DIR, "state.json"));
  return found?.value ?? null;
}

/**
 * Checks that the checkpoint in `folder` (its `state`) is one of `model`, the model a resumed run asks for.
 *
 * @throws {UsageError} naming both models when it is another's.
 */
export function checkCheckpointModel(folder: string, state: Pick<TrainState, "model">, model: string): void {
  if (state.model !== model) {
    throw new UsageError(
      `${folder} holds a checkpoint of model "${state.model}", not "${model}": pass --model ${state.model} or another --out`,
    );
  }
}

/** The run folder for `dir` (see `resolveModelDir`), or `null` when there is none yet. */
async function runFolder(dir: string): Promise<string | null> {
  try {
    return await resolveModelDir(dir);
  } catch (e) {
    if (e instanceof DataError) return null;
    throw e;
  }
}
