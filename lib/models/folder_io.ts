/**
 * A model folder on disk: the tfjs files (`model.json`, `weights.bin`) plus `metadata.json`, saved
 * atomically, loaded back as a {@link KeypointModel}, and exported with float16 weights.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { DataError } from "../core/errors.ts";
import { readJson } from "../core/json_io.ts";
import {
  artifactsToModel,
  modelToArtifacts,
  readArtifacts,
  replaceDir,
  resolveModelDir,
  toFloat16Artifacts,
  writeArtifacts,
} from "./artifacts_io.ts";
import { type KeypointModel, METADATA_JSON, type ModelMetadata, modelPredictor } from "./keypoint_model.ts";
import { NORMALISATION } from "./normalise.ts";

/** The bundled model's folder (a LeNet with float16 weights; see the README), relative to the repository. */
export const DEFAULT_MODEL_DIR = "outputs/models/default";

/** Writes `model.json`, `weights.bin` and `metadata.json` into an existing folder (not atomic). */
export async function writeModelFolder(
  dir: string,
  artifacts: tf.io.ModelArtifacts,
  metadata: ModelMetadata,
): Promise<void> {
  await writeArtifacts(dir, artifacts);
  await Deno.writeTextFile(join(dir, METADATA_JSON), JSON.stringify(metadata, null, 2) + "\n");
}

/**
 * Saves a model folder atomically (temporary folder beside `dir`, then rename): `model.json` +
 * `weights.bin` (tfjs LayersModel format) and `metadata.json`. `extra` may add files (e.g. `history.json`).
 *
 * @example
 * ```ts
 * await saveKeypointModel("outputs/models/lenet", model, makeMetadata("lenet", model));
 * ```
 */
export async function saveKeypointModel(
  dir: string,
  model: tf.LayersModel,
  metadata: ModelMetadata,
  extra: Record<string, string> = {},
): Promise<void> {
  const artifacts = await modelToArtifacts(model);
  await replaceDir(dir, async (tmp) => {
    await writeModelFolder(tmp, artifacts, metadata);
    for (const [file, text] of Object.entries(extra)) await Deno.writeTextFile(join(tmp, file), text);
  });
}

/** Reads and checks `metadata.json` of a model folder. */
export async function readMetadata(dir: string): Promise<ModelMetadata> {
  const file = join(dir, METADATA_JSON);
  const metadata = await readJson<ModelMetadata>(file, { missing: "missing: not a keypoint model folder" });
  if (typeof metadata.model !== "string" || metadata.normalisation?.scale !== NORMALISATION.scale) {
    throw new DataError("not a keypoint model's metadata (model or normalisation missing)", { file });
  }
  return metadata;
}

/**
 * Loads a model folder written by {@link saveKeypointModel} (or by training) as a predictor in pixels.
 *
 * @example
 * ```ts
 * const kp = await loadKeypointModel("outputs/models/lenet");
 * const px = await kp.predict(ds.images, ds.n); // n × 30 pixels
 * ```
 */
export async function loadKeypointModel(dir: string): Promise<KeypointModel> {
  const folder = await resolveModelDir(dir);
  const metadata = await readMetadata(folder);
  const model = await artifactsToModel(await readArtifacts(folder));
  return { ...modelPredictor(model, metadata.model), model, metadata };
}

/**
 * Copies a model folder to `outDir` (atomically), optionally with float16 weights (half the size; see
 * `toFloat16Artifacts`). `metadata.json` gains an `export` entry saying where it came from and how it was
 * stored; `history.json` is copied when present. Re-evaluate the exported model: float16 rounding can move
 * predictions by a small fraction of a pixel.
 *
 * @example
 * ```ts
 * await exportKeypointModel("outputs/models/lenet", "outputs/models/default", { float16: true });
 * ```
 */
export async function exportKeypointModel(
  srcDir: string,
  outDir: string,
  opts: { float16?: boolean } = {},
): Promise<ModelMetadata> {
  const folder = await resolveModelDir(srcDir);
  const metadata = await readMetadata(folder);
  const artifacts = await readArtifacts(folder);
  const stored = opts.float16 ? toFloat16Artifacts(artifacts) : artifacts;
  const exported: ModelMetadata = {
    ...metadata,
    export: { from: srcDir, weights: opts.float16 ? "float16" : "float32", at: new Date().toISOString() },
  };
  let history: string | undefined;
  try {
    history = await Deno.readTextFile(join(folder, "history.json"));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await replaceDir(outDir, async (tmp) => {
    await writeModelFolder(tmp, stored, exported);
    if (history !== undefined) await Deno.writeTextFile(join(tmp, "history.json"), history);
  });
  return exported;
}
