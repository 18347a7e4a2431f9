/**
 * The CNN face detector's folder (`model.json`, `weights.bin`, `metadata.json`, like a keypoint model's),
 * saved atomically with float16 weights, and loaded back as a {@link FaceDetector} whose boxes are the
 * estimated 68-landmark boxes (`source: "cnn"`, framed by `cropBoxForDetection` like a training crop;
 * the detector itself is `cnnDetector` in `cnn_detector.ts`).
 *
 * @example
 * ```ts
 * import { loadCnnDetector } from "./cnn_detector_io.ts";
 * import { readGray } from "../core/image_io.ts";
 * const detector = await loadCnnDetector();
 * const faces = detector.detect(await readGray("data/portraits/astronaut.png"));
 * detector.close();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { DataError, UsageError } from "../core/errors.ts";
import { readJson } from "../core/json_io.ts";
import {
  artifactsToModel,
  MODEL_JSON,
  modelToArtifacts,
  readArtifacts,
  replaceDir,
  toFloat16Artifacts,
  writeArtifacts,
} from "../models/artifacts_io.ts";
import {
  type CnnDetector,
  cnnDetector,
  type CnnDetectorOptions,
  DEFAULT_DETECTOR_THRESHOLD,
  DETECTOR_GRID,
  DETECTOR_INPUT,
  DETECTOR_OUTPUTS,
} from "./cnn_detector.ts";

/** The detector shipped in `data/` (trained by `deno task train-detector`; its metadata has the command). */
export const DEFAULT_CNN_DETECTOR_DIR: string = fileURLToPath(
  new URL("../../data/face-detector", import.meta.url),
);

/** What `metadata.json` of a detector folder holds. */
export interface CnnDetectorMetadata {
  kind: "face-detector";
  /** Network input side and grid, checked on load. */
  input: number;
  grid: number;
  /** Score threshold chosen on validation photos. */
  threshold: number;
  /** How it was trained (command, data, split, epochs, time, validation figures). */
  training?: Record<string, unknown>;
  weights?: "float16" | "float32";
}

const METADATA = "metadata.json";

/** Saves a detector folder atomically, float16 weights unless `float32`. */
export async function saveCnnDetector(
  dir: string,
  model: tf.LayersModel,
  metadata: Omit<CnnDetectorMetadata, "kind" | "input" | "grid" | "weights">,
  opts: { float32?: boolean; extra?: Record<string, string> } = {},
): Promise<void> {
  const artifacts = await modelToArtifacts(model);
  const stored = opts.float32 ? artifacts : toFloat16Artifacts(artifacts);
  const full: CnnDetectorMetadata = {
    kind: "face-detector",
    input: DETECTOR_INPUT,
    grid: DETECTOR_GRID,
    ...metadata,
    weights: opts.float32 ? "float32" : "float16",
  };
  await replaceDir(dir, async (tmp) => {
    await writeArtifacts(tmp, stored);
    await Deno.writeTextFile(join(tmp, METADATA), JSON.stringify(full, null, 2) + "\n");
    for (const [file, text] of Object.entries(opts.extra ?? {})) {
      await Deno.writeTextFile(join(tmp, file), text);
    }
  });
}

/** A detector folder's network and metadata, checked. */
export async function readCnnDetector(
  dir: string = DEFAULT_CNN_DETECTOR_DIR,
): Promise<{ model: tf.LayersModel; metadata: CnnDetectorMetadata }> {
  const file = join(dir, METADATA);
  const metadata = await readJson<CnnDetectorMetadata>(file, {
    missing: "missing: not a face-detector folder",
  });
  if (
    metadata.kind !== "face-detector" || metadata.input !== DETECTOR_INPUT || metadata.grid !== DETECTOR_GRID
  ) {
    throw new DataError(
      `not a face detector of this version (kind ${metadata.kind}, input ${metadata.input}, grid ` +
        `${metadata.grid}; expected face-detector, ${DETECTOR_INPUT}, ${DETECTOR_GRID})`,
      { file },
    );
  }
  let model: tf.LayersModel;
  try {
    model = await artifactsToModel(await readArtifacts(dir));
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`cannot build the detector: ${(e as Error).message}`, {
      file: join(dir, MODEL_JSON),
    });
  }
  const out = model.outputs[0].shape;
  if (out[1] !== DETECTOR_GRID || out[2] !== DETECTOR_GRID || out[3] !== DETECTOR_OUTPUTS) {
    model.dispose();
    throw new DataError(`the network's output is ${JSON.stringify(out)}, not a detector grid`, {
      file: join(dir, MODEL_JSON),
    });
  }
  return { model, metadata };
}

/**
 * Loads the detector of `dir` (default: the one in `data/`). The tfjs backend must be started; `detect`
 * reads the network's output synchronously (wasm, cpu).
 *
 * @throws {DataError} naming the file when the folder is not a detector of this version.
 * @throws {UsageError} for a threshold outside (0, 1).
 * (`opts.tiles`: see `cnnDetector`.)
 */
export async function loadCnnDetector(
  dir: string = DEFAULT_CNN_DETECTOR_DIR,
  opts: CnnDetectorOptions = {},
): Promise<CnnDetector> {
  const { model, metadata } = await readCnnDetector(dir);
  const threshold = opts.threshold ?? metadata.threshold ?? DEFAULT_DETECTOR_THRESHOLD;
  if (!(threshold > 0 && threshold < 1)) {
    model.dispose();
    throw new UsageError(`the detector threshold must be within (0, 1), got ${threshold}`);
  }
  return cnnDetector(model, { ...opts, threshold });
}
