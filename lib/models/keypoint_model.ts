/**
 * A trained model in memory: its `metadata.json` content and the {@link KeypointPredictor} that turns faces
 * into keypoints in pixels. Model folders on disk are `folder_io.ts`.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import * as tf from "@tensorflow/tfjs";
import { IMAGE_SIZE, KEYPOINT_NAMES, NUM_COORDS } from "../core/constants.ts";
import { PIXELS } from "../core/constants.ts";
import type { KeypointPredictor } from "./types.ts";
import { denormalise, NORMALISATION } from "./normalise.ts";
import type { ModelName } from "./registry.ts";
import { addOffsets, type Calibration, conventionOffsets } from "./calibration.ts";

/** Metadata file name inside a model folder. */
export const METADATA_JSON = "metadata.json";

/** What `metadata.json` holds beside the tfjs files. */
export interface ModelMetadata {
  /** Which architecture (one of `MODEL_NAMES`, or a custom model's name). */
  model: ModelName | (string & Record<never, never>);
  /** The 15 keypoint names in output order (x, y each). */
  keypointNames: readonly string[];
  /** How outputs map to pixels: `p = 48 · y + 48`. */
  normalisation: typeof NORMALISATION;
  /** `[96, 96, 1]`, pixels in [0, 1]. */
  inputShape: readonly number[];
  /** `model.countParams()`. */
  params: number;
  /** ISO time of the save. */
  savedAt: string;
  /** Set by the training loop: data, config, final metrics, backend, time per epoch. */
  training?: Record<string, unknown>;
  /** Set by `exportKeypointModel`: the source folder and how the weights are stored. */
  export?: { from: string; weights: "float32" | "float16"; at: string };
  /** Set by `deno task calibrate`: the annotation conventions of the training data (`calibration.ts`). */
  calibration?: Calibration;
}

/** The metadata of a freshly built or trained model (fill `training` in the training loop). */
export function makeMetadata(
  name: ModelMetadata["model"],
  model: tf.LayersModel,
  training?: Record<string, unknown>,
): ModelMetadata {
  return {
    model: name,
    keypointNames: [...KEYPOINT_NAMES],
    normalisation: NORMALISATION,
    inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1],
    params: model.countParams(),
    savedAt: new Date().toISOString(),
    training,
  };
}

/** A loaded model with its metadata, ready to predict. */
export type KeypointModel = KeypointPredictor & { model: tf.LayersModel; metadata: ModelMetadata };

/**
 * Wraps a model (outputs in normalised units) as a {@link KeypointPredictor} with outputs in pixels, plus
 * `offsets` (an annotation convention, `calibration.ts`) where given. Runs in batches of `batchSize` in
 * inference mode and disposes every tensor it makes.
 */
export function modelPredictor(
  model: tf.LayersModel,
  name: string,
  opts: { batchSize?: number; offsets?: Float32Array } = {},
): KeypointPredictor {
  const { batchSize = 64, offsets } = opts;
  return {
    name,
    offsets,
    async predict(images: Float32Array, n: number): Promise<Float32Array> {
      if (images.length !== n * PIXELS) {
        throw new UsageError(`predict: ${images.length} pixels for ${n} faces (expected ${n * PIXELS})`);
      }
      const out = new Float32Array(n * NUM_COORDS);
      for (let start = 0; start < n; start += batchSize) {
        const b = Math.min(batchSize, n - start);
        const pred = tf.tidy(() => {
          const x = tf.tensor4d(images.subarray(start * PIXELS, (start + b) * PIXELS), [
            b,
            IMAGE_SIZE,
            IMAGE_SIZE,
            1,
          ]);
          return model.predict(x) as tf.Tensor;
        });
        // Read asynchronously: webgpu's synchronous read needs an OffscreenCanvas, which Deno lacks.
        const values = await pred.data() as Float32Array;
        pred.dispose();
        out.set(denormalise(values), start * NUM_COORDS);
      }
      return addOffsets(out, offsets);
    },
  };
}

/**
 * The same loaded network in annotation convention `name` (see `loadKeypointModel`); shares the
 * weights, so dispose only one.
 *
 * @throws {UsageError} naming the known conventions for an unknown `name`.
 */
export function withConvention(loaded: KeypointModel, name: string): KeypointModel {
  const offsets = conventionOffsets(loaded.metadata.calibration, name);
  return {
    ...modelPredictor(loaded.model, loaded.metadata.model, { offsets }),
    model: loaded.model,
    metadata: loaded.metadata,
  };
}
