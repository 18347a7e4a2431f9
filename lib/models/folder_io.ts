/**
 * A model folder on disk: the tfjs files (`model.json`, `weights.bin`) plus `metadata.json`, saved
 * atomically, loaded back as a {@link KeypointModel}, and exported with float16 weights.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { DataError, UsageError } from "../core/errors.ts";
import { readJson } from "../core/json_io.ts";
import {
  artifactsToModel,
  MODEL_JSON,
  modelToArtifacts,
  readArtifacts,
  replaceDir,
  resolveModelDir,
  toFloat16Artifacts,
  writeArtifacts,
} from "./artifacts_io.ts";
import { type KeypointModel, METADATA_JSON, type ModelMetadata, modelPredictor } from "./keypoint_model.ts";
export { withConvention } from "./keypoint_model.ts";
import { NUM_COORDS } from "../core/constants.ts";
import { NORMALISATION } from "./normalise.ts";
import { conventionOffsets } from "./calibration.ts";

/** The bundled model's folder (resnet18-slim, float16 weights; see the README), relative to the repository. */
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
 * import { makeMetadata } from "./keypoint_model.ts";
 * import { createModel } from "./registry.ts";
 * const model = createModel("lenet", { seed: 0 });
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
 * Loads a model folder written by {@link saveKeypointModel} (or by training) as a predictor in pixels, in
 * the annotation convention `opts.convention` (a name of its `calibration`, `"none"` for the network's own
 * output; default: the calibration's default, none without one). `withConvention` gives the same network
 * in another convention.
 *
 * @example
 * ```ts
 * import { syntheticDataset } from "../data/synthetic.ts";
 * const ds = syntheticDataset({ n: 8 });
 * const kp = await loadKeypointModel("outputs/models/lenet");
 * const px = await kp.predict(ds.images, ds.n); // n × 30 pixels
 * ```
 */
export async function loadKeypointModel(
  dir: string,
  opts: { convention?: string } = {},
): Promise<KeypointModel> {
  const { folder, metadata, artifacts } = await readKeypointModelFiles(dir);
  let model: tf.LayersModel;
  try {
    model = await artifactsToModel(artifacts);
  } catch (e) {
    throw new DataError(`cannot build the model: ${(e as Error).message}`, {
      file: join(folder, MODEL_JSON),
    });
  }
  const input = model.inputs[0]?.shape.slice(1), output = model.outputs[0]?.shape.slice(1);
  if (JSON.stringify(input) !== JSON.stringify(metadata.inputShape) || output?.[0] !== NUM_COORDS) {
    model.dispose();
    throw new DataError(
      `the model maps ${JSON.stringify(input)} to ${JSON.stringify(output)}, expected ` +
        `${JSON.stringify(metadata.inputShape)} to [${NUM_COORDS}]: not a keypoint model`,
      { file: join(folder, MODEL_JSON) },
    );
  }
  let offsets;
  try {
    offsets = conventionOffsets(metadata.calibration, opts.convention);
  } catch (e) {
    model.dispose();
    throw e instanceof DataError ? new DataError(e.message, { file: join(folder, METADATA_JSON) }) : e;
  }
  return { ...modelPredictor(model, metadata.model, { offsets }), model, metadata };
}

/**
 * Reads and checks a model folder's files without building the model (for callers that hand the files on,
 * such as the camera page's server): weights complete and finite, metadata matching the topology.
 * Throws `DataError` naming the bad file.
 */
export async function readKeypointModelFiles(
  dir: string,
): Promise<{ folder: string; metadata: ModelMetadata; artifacts: tf.io.ModelArtifacts }> {
  const folder = await resolveModelDir(dir);
  const metadata = await readMetadata(folder);
  const artifacts = await readArtifacts(folder);
  checkMetadataMatches(metadata, artifacts, folder);
  return { folder, metadata, artifacts };
}

/**
 * Checks that `metadata.json` describes the topology beside it (same parameter count), so that a
 * `model.json` copied from another model's folder is refused rather than loaded.
 */
function checkMetadataMatches(
  metadata: ModelMetadata,
  artifacts: tf.io.ModelArtifacts,
  folder: string,
): void {
  const params = (artifacts.weightSpecs ?? []).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  if (metadata.params !== params) {
    throw new DataError(
      `says model "${metadata.model}" with ${metadata.params} parameters, but ${MODEL_JSON} describes ` +
        `${params}: the files come from different models`,
      { file: join(folder, METADATA_JSON) },
    );
  }
}

/**
 * Copies a model folder to `outDir` (atomically), optionally with float16 weights (half the size; see
 * `toFloat16Artifacts`). `metadata.json` gains an `export` entry saying where it came from and how it was
 * stored; `history.json` is copied when present. Re-evaluate the exported model: float16 rounding can move
 * predictions by a small fraction of a pixel. A model already in `outDir` is replaced only with `overwrite`
 * (a `UsageError` otherwise).
 *
 * @example
 * ```ts
 * await exportKeypointModel("outputs/models/lenet", "outputs/models/default", { float16: true, overwrite: true });
 * ```
 */
export async function exportKeypointModel(
  srcDir: string,
  outDir: string,
  opts: { float16?: boolean; overwrite?: boolean } = {},
): Promise<ModelMetadata> {
  const folder = await resolveModelDir(srcDir);
  if (!opts.overwrite && await exists(join(outDir, MODEL_JSON))) {
    throw new UsageError(`${outDir} already holds a model: pass --overwrite to replace it, or another --out`);
  }
  const metadata = await readMetadata(folder);
  const artifacts = await readArtifacts(folder);
  checkMetadataMatches(metadata, artifacts, folder);
  const stored = opts.float16 ? toFloat16Artifacts(artifacts) : artifacts;
  // A float16 source stays float16 (the label follows the stored weights, not the flag).
  const half = stored.weightSpecs?.some((s) => s.quantization?.dtype === "float16");
  const exported: ModelMetadata = {
    ...metadata,
    export: { from: srcDir, weights: half ? "float16" : "float32", at: new Date().toISOString() },
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

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return false;
    throw e;
  }
}
