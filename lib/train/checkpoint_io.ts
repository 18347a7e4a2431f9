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
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { checkWritableFolder } from "../core/atomic_io.ts";
import { DataError, OutputError, UsageError } from "../core/errors.ts";
import { readJson, readJsonIfPresent } from "../core/json_io.ts";
import {
  checkWeightData,
  MODEL_JSON,
  readArtifacts,
  replaceDir,
  resolveModelDir,
  writeArtifacts,
} from "../models/artifacts_io.ts";
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
  /** Validation RMSE (px) of the best epoch so far, and that epoch. */
  bestValRmse: number;
  bestEpoch: number;
  /**
   * The best epoch's value of the selection metric (`TrainConfig.selectBy`); absent in checkpoints written
   * before there was a choice, where `bestValRmse` is it.
   */
  bestScore?: number;
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
  try {
    await writeRunFolder(dir, c, optimizer);
  } catch (e) {
    if (e instanceof UsageError || e instanceof DataError) throw e;
    const kept = c.state.epoch > 1 ? `${dir} keeps epoch ${c.state.epoch - 1}` : "nothing was written";
    throw new OutputError(`cannot save epoch ${c.state.epoch}: ${(e as Error).message}; ${kept}`);
  }
}

async function writeRunFolder(
  dir: string,
  c: CheckpointContent,
  optimizer: { data: ArrayBuffer; specs: tf.io.WeightsManifestEntry[] },
): Promise<void> {
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
  if (!Array.isArray(optimizer.specs)) {
    throw new DataError("not a list of weight specs", { file: join(ck, "optimizer.json") });
  }
  checkWeightData(optimizer.specs, optimizer.data, optFile); // a damaged file would resume into garbage
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

/**
 * Refuses (with a `UsageError`) to start a fresh run in `dir` when it already holds a model, so that a
 * trained model is never replaced by accident: the user must resume it, say `overwrite`, or pick another
 * folder.
 */
export async function checkFreshRunFolder(dir: string): Promise<void> {
  const folder = await runFolder(dir);
  if (folder === null) return;
  try {
    await Deno.stat(join(folder, MODEL_JSON));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return; // not a model folder: replaceDir decides
    throw e;
  }
  const state = await readCheckpointState(dir).catch(() => null);
  const what = state ? `a run of ${state.model} (epoch ${state.epoch})` : "a model";
  throw new UsageError(
    `${dir} already holds ${what}: pass --resume to continue it, --overwrite to replace it, or another --out`,
  );
}

/**
 * Checks that run folder `dir` can be written before any training: not a file, and its parent folder (where
 * the folder is rebuilt every epoch) writable. Throws `UsageError` for a file, `OutputError` otherwise.
 */
export async function checkRunFolderWritable(dir: string): Promise<void> {
  try {
    if (!(await Deno.stat(dir)).isDirectory) {
      throw new UsageError(`${dir} is a file, not a run folder: pass another --out`);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await checkWritableFolder(dirname(resolve(dir)));
}

/** A held run-folder lock; {@link RunLock.release} frees it. */
export interface RunLock {
  /** The lock file (`<dir>.lock`, beside the folder, since the folder itself is replaced every epoch). */
  readonly path: string;
  release(): Promise<void>;
}

/**
 * Takes the lock of run folder `dir` for this process: `<dir>.lock` holds the owner's pid and host. A lock
 * whose process no longer runs (on this host) is taken over; a live one is refused with a `UsageError`, so
 * that two runs never write (or clean up after) one folder at once.
 */
export async function lockRunFolder(dir: string): Promise<RunLock> {
  const path = join(dirname(resolve(dir)), `${basename(resolve(dir))}.lock`);
  await Deno.mkdir(dirname(path), { recursive: true });
  const owner = { pid: Deno.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await Deno.writeTextFile(path, JSON.stringify(owner) + "\n", { createNew: true });
      return {
        path,
        release: () => Deno.remove(path).catch(() => {}),
      };
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    let held: { pid?: number; host?: string; since?: string } = {};
    try {
      held = JSON.parse(await Deno.readTextFile(path));
    } catch { /* unreadable or half-written: treated as held by an unknown process */ }
    if (held.host === owner.host && typeof held.pid === "number" && !processRuns(held.pid)) {
      await Deno.remove(path).catch(() => {}); // stale: its process ended without releasing it
      continue;
    }
    throw new UsageError(
      `${dir} is in use by another training run (pid ${held.pid ?? "?"} on ${held.host ?? "?"} since ` +
        `${held.since ?? "?"}); wait for it, pick another --out, or delete ${path} if no run is left`,
    );
  }
  throw new UsageError(`cannot take the lock ${path}`);
}

/** Whether process `pid` runs on this machine (`/proc` on Linux; elsewhere assumed so). */
function processRuns(pid: number): boolean {
  if (Deno.build.os !== "linux") return true;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
