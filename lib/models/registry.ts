/**
 * One factory for every model: `createModel(name, config)` picks the implementation.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { UsageError } from "../core/errors.ts";
import { createLenet, LENET_PARAMS } from "./lenet.ts";
import { createResnet50, createThesisResnet, RESNET50_PARAMS, THESIS_RESNET_PARAMS } from "./resnet.ts";

/** The models `createModel` builds. */
export const MODEL_NAMES = ["lenet", "thesis-resnet", "resnet50"] as const;

/** One of {@link MODEL_NAMES}. */
export type ModelName = typeof MODEL_NAMES[number];

/** Options for {@link createModel}. */
export interface ModelConfig {
  /** Seed of the weight initialisers: equal seeds give equal weights. Omitted: random. */
  seed?: number;
}

/** Parameter count of each model (BN moving statistics included). */
export const MODEL_PARAMS: Readonly<Record<ModelName, number>> = {
  "lenet": LENET_PARAMS,
  "thesis-resnet": THESIS_RESNET_PARAMS,
  "resnet50": RESNET50_PARAMS,
};

/** True if `name` is one of {@link MODEL_NAMES}. */
export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

/**
 * A fresh, uncompiled model: input `[null, 96, 96, 1]` pixels in [0, 1], output `[null, 30]` keypoints in
 * normalised units `(p − 48) / 48`. Throws `UsageError` for an unknown name.
 *
 * @example
 * ```ts
 * const model = createModel("thesis-resnet", { seed: 42 });
 * ```
 */
export function createModel(name: string, config: ModelConfig = {}): tf.LayersModel {
  switch (name) {
    case "lenet":
      return createLenet(config);
    case "thesis-resnet":
      return createThesisResnet(config);
    case "resnet50":
      return createResnet50(config);
    default:
      throw new UsageError(`unknown model "${name}": expected one of ${MODEL_NAMES.join(", ")}`);
  }
}
