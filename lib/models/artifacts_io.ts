/**
 * Model files on disk: the tfjs LayersModel format (`model.json` + `weights.bin`, loadable with
 * `tf.loadLayersModel` in a browser too), written and read with plain file I/O because tfjs's `file://`
 * handler needs tfjs-node. Every write replaces a whole folder atomically: the files go into a temporary
 * folder beside the target, which is then renamed over it, so a crash never leaves a half-written model.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { basename, dirname, join, resolve } from "node:path";
import { DataError, UsageError } from "../core/errors.ts";
import { readJson } from "../core/json_io.ts";

/** File names inside a model folder. */
export const MODEL_JSON = "model.json";
/** Weights file name (one shard). */
export const WEIGHTS_BIN = "weights.bin";

/** The model's topology and weights as plain data (what `model.save` hands a save handler). */
export async function modelToArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((artifacts) => {
    captured = artifacts;
    return Promise.resolve({ modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) });
  }));
  if (!captured) throw new Error("modelToArtifacts: tfjs handed no artifacts to the save handler");
  // tfjs may hand the weights in several buffers; one shard keeps the folder simple.
  return { ...captured, weightData: tf.io.concatenateArrayBuffers(captured.weightData as ArrayBuffer[]) };
}

/** A model built from artifacts (the weights are copied into new variables). */
export function artifactsToModel(artifacts: tf.io.ModelArtifacts): Promise<tf.LayersModel> {
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}

/** Writes `model.json` + `weights.bin` into an existing folder (not atomic by itself: see {@link replaceDir}). */
export async function writeArtifacts(dir: string, artifacts: tf.io.ModelArtifacts): Promise<void> {
  const weights = tf.io.concatenateArrayBuffers(artifacts.weightData as ArrayBuffer | ArrayBuffer[]);
  const modelJson = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format ?? "layers-model",
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
  };
  await Deno.writeFile(join(dir, WEIGHTS_BIN), new Uint8Array(weights));
  await Deno.writeTextFile(join(dir, MODEL_JSON), JSON.stringify(modelJson));
}

/** Reads `model.json` and its weight shards from a folder. Throws `DataError` naming the bad file. */
export async function readArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  const jsonPath = join(dir, MODEL_JSON);
  const modelJson = await readJson<tf.io.ModelJSON>(jsonPath, {
    missing: "no model.json: not a model folder",
    missingFile: dir,
  });
  if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    throw new DataError("not a tfjs LayersModel (modelTopology or weightsManifest missing)", {
      file: jsonPath,
    });
  }
  return await tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
    const buffers: ArrayBuffer[] = [];
    for (const group of manifest) {
      for (const p of group.paths) {
        const file = join(dir, p);
        try {
          buffers.push((await Deno.readFile(file)).buffer as ArrayBuffer);
        } catch (e) {
          throw new DataError(`cannot read weights: ${(e as Error).message}`, { file });
        }
      }
    }
    return [tf.io.getWeightSpecs(manifest), tf.io.concatenateArrayBuffers(buffers)];
  });
}

function isNotFound(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound;
}

/**
 * Replaces folder `target` as a whole: `fill` writes into a fresh temporary folder beside it, which is then
 * renamed to `target` (the old one is moved aside first, then removed). If `fill` throws, `target` is left
 * untouched. A crash between the two renames leaves the previous folder as `<target>.old-*`, which
 * {@link resolveModelDir} finds.
 *
 * Refuses to replace a non-empty folder that holds no `model.json`, so that `--out .` cannot wipe a
 * user's files.
 */
export async function replaceDir(target: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  target = resolve(target);
  const parent = dirname(target);
  await Deno.mkdir(parent, { recursive: true });
  try {
    const entries = [...Deno.readDirSync(target)];
    if (entries.length > 0 && !entries.some((e) => e.name === MODEL_JSON)) {
      throw new UsageError(
        `${target} exists and is not a model folder (no ${MODEL_JSON}); refusing to replace it`,
      );
    }
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  await removeLeftovers(target);
  const stamp = `${Deno.pid}-${Date.now()}`;
  const tmp = join(parent, `${basename(target)}.tmp-${stamp}`);
  await Deno.mkdir(tmp);
  try {
    await fill(tmp);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  const old = join(parent, `${basename(target)}.old-${stamp}`);
  let movedAside = false;
  try {
    await Deno.rename(target, old);
    movedAside = true;
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  await Deno.rename(tmp, target);
  if (movedAside) await Deno.remove(old, { recursive: true });
}

/**
 * Removes what an interrupted {@link replaceDir} of `target` left beside it: temporary folders, and old
 * folders once `target` itself exists again. (One writer per folder is assumed.)
 */
async function removeLeftovers(target: string): Promise<void> {
  const name = basename(target);
  let targetExists = true;
  try {
    await Deno.stat(target);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    targetExists = false;
  }
  for await (const e of Deno.readDir(dirname(target))) {
    const stale = e.name.startsWith(`${name}.tmp-`) || (targetExists && e.name.startsWith(`${name}.old-`));
    if (e.isDirectory && stale) await Deno.remove(join(dirname(target), e.name), { recursive: true });
  }
}

/**
 * The folder to read for `dir`: `dir` itself, or, if a crash interrupted {@link replaceDir} between its two
 * renames, the newest `<dir>.old-*` beside it. Throws `DataError` if neither exists.
 */
export async function resolveModelDir(dir: string): Promise<string> {
  dir = resolve(dir);
  try {
    if ((await Deno.stat(dir)).isDirectory) return dir;
    throw new DataError("is a file, expected a model folder", { file: dir });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  const prefix = `${basename(dir)}.old-`;
  const olds: string[] = [];
  try {
    for await (const e of Deno.readDir(dirname(dir))) {
      if (e.isDirectory && e.name.startsWith(prefix)) olds.push(e.name);
    }
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  if (olds.length === 0) throw new DataError("no such model folder", { file: dir });
  olds.sort((a, b) => Number(a.split("-").at(-1)) - Number(b.split("-").at(-1)));
  return join(dirname(dir), olds.at(-1)!);
}

/**
 * The same artifacts with every float32 weight stored as float16 (half the bytes). The weight specs say
 * `quantization: {dtype: "float16"}`, which `tf.loadLayersModel` decodes back to float32 (in a browser
 * too); the loaded values are exactly the float16-rounded weights (round to nearest even).
 */
export function toFloat16Artifacts(artifacts: tf.io.ModelArtifacts): tf.io.ModelArtifacts {
  const specs = artifacts.weightSpecs ?? [];
  const data = new Uint8Array(
    tf.io.concatenateArrayBuffers(artifacts.weightData as ArrayBuffer | ArrayBuffer[]),
  );
  const parts: Uint8Array[] = [];
  const outSpecs: tf.io.WeightsManifestEntry[] = [];
  let offset = 0;
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.quantization) throw new UsageError(`weight ${spec.name} is already quantized`);
    const bytes = count * (spec.dtype === "float32" || spec.dtype === "int32" ? 4 : 1);
    const slice = data.slice(offset, offset + bytes);
    offset += bytes;
    if (spec.dtype !== "float32") {
      parts.push(slice);
      outSpecs.push(spec);
      continue;
    }
    const half = new Float16Array(new Float32Array(slice.buffer));
    parts.push(new Uint8Array(half.buffer));
    outSpecs.push({ ...spec, quantization: { dtype: "float16" } });
  }
  if (offset !== data.length) {
    throw new Error(`toFloat16Artifacts: weight specs cover ${offset} of ${data.length} bytes`);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return { ...artifacts, weightSpecs: outSpecs, weightData: out.buffer };
}
