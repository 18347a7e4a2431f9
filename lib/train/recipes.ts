/**
 * The training recipe of each registered model: the settings its committed run used, written once so that
 * the notebooks, the README and `deno task train` agree. A recipe is a run sized to one working session on
 * two cores: a cosine schedule over a fixed number of epochs, so that validation stops improving where the
 * learning rate reaches its floor, instead of an early stop whose length nobody can plan.
 *
 * - The thesis's models (`lenet`, `thesis-resnet`, `resnet50`) keep the thesis's loss (masked MSE), its
 *   augmentation and selection by validation RMSE; only the schedule is ours.
 * - `resnet18-slim`, the model for photos, trains with Wing loss, the wild augmentation (the detector's
 *   framing spread, ±30°, occlusion, blur, light) and picks its epoch by NME. Both choices were measured on
 *   the validation photos (README, "Loss and framing"): at 24 epochs masked MSE did better on ground-truth
 *   crops and worse end to end (6.30 % against 5.99 % NME); without the framing spread, likewise at 8 epochs.
 *
 * @example
 * ```ts
 * import { recipeConfig, recipeOf } from "./recipes.ts";
 * const config = recipeConfig("resnet18-slim"); // Partial<TrainConfig>, augmentation built
 * console.log(recipeOf("resnet18-slim").epochs); // 24; `deno task train --recipe` uses the same
 * ```
 *
 * @module
 */
import { AUGMENTATIONS } from "../augment/augment.ts";
import type { Augmenter } from "../augment/augment.ts";
import type { LossName } from "./train_step.ts";

/** How a run picks the model it keeps (`TrainConfig.selectBy`): by validation RMSE or NME, or its last epoch. */
export const SELECT_BY_NAMES = ["rmse", "nme", "last"] as const;

/** One of {@link SELECT_BY_NAMES}. */
export type SelectBy = typeof SELECT_BY_NAMES[number];

/** One model's recipe, in the terms of `deno task train`'s options. */
export interface TrainingRecipe {
  epochs: number;
  lr: number;
  minLr: number;
  loss: LossName;
  schedule: "plateau" | "cosine";
  augmentation: keyof typeof AUGMENTATIONS;
  selectBy: SelectBy;
  /** Early stopping patience (0: off; a cosine run ends at its last epoch). */
  patience: number;
}

/** The thesis's loss and augmentation, on a cosine schedule. */
const THESIS: TrainingRecipe = {
  epochs: 30,
  lr: 1e-3,
  minLr: 1e-5,
  loss: "mse",
  schedule: "cosine",
  augmentation: "default",
  selectBy: "rmse",
  patience: 0,
};

/** Recipes by model name; a model not listed trains with {@link THESIS}. */
export const RECIPES: Readonly<Record<string, TrainingRecipe>> = {
  lenet: THESIS,
  "thesis-resnet": THESIS,
  resnet50: THESIS,
  "resnet18-slim": {
    epochs: 24,
    lr: 2e-3,
    minLr: 1e-5,
    loss: "wing",
    schedule: "cosine",
    augmentation: "wild",
    selectBy: "nme",
    patience: 0,
  },
};

/** A recipe in `TrainConfig`'s terms. */
export interface RecipeConfig {
  epochs: number;
  lr: number;
  minLr: number;
  loss: LossName;
  schedule: "plateau" | "cosine";
  augment: Augmenter;
  selectBy: SelectBy;
  earlyStopping: number;
}

/** The recipe of `model` ({@link THESIS} for a model without one of its own). */
export function recipeOf(model: string): TrainingRecipe {
  return RECIPES[model] ?? THESIS;
}

/**
 * The recipe of `model` as options of `train()` (`TrainConfig`, whose module does file IO, so it is not
 * imported here), the augmentation built afresh for each call.
 */
export function recipeConfig(model: string): RecipeConfig {
  const r = recipeOf(model);
  return {
    epochs: r.epochs,
    lr: r.lr,
    minLr: r.minLr,
    loss: r.loss,
    schedule: r.schedule,
    augment: AUGMENTATIONS[r.augmentation](),
    selectBy: r.selectBy,
    earlyStopping: r.patience,
  };
}
