import assert from "node:assert/strict";
import { MODEL_NAMES } from "../lib/models/registry.ts";
import { recipeConfig, recipeOf } from "../lib/train/recipes.ts";
import { resolveConfig } from "../lib/train/train_io.ts";

Deno.test("recipes: every registered model has a valid recipe; the photo model's differs from the thesis's", () => {
  for (const model of MODEL_NAMES) {
    const cfg = resolveConfig({ model, ...recipeConfig(model) }); // throws on a bad value
    assert.equal(cfg.epochs, recipeOf(model).epochs, model);
  }
  const slim = resolveConfig({ model: "resnet18-slim", ...recipeConfig("resnet18-slim") });
  const lenet = resolveConfig({ model: "lenet", ...recipeConfig("lenet") });
  assert.deepEqual([slim.loss, slim.selectBy, lenet.loss, lenet.selectBy], ["wing", "nme", "mse", "rmse"]);
  // The augmentation is built per call, named as the CLI names it.
  assert.notEqual(recipeConfig("lenet").augment, recipeConfig("lenet").augment);
  assert.ok(slim.augment!.transforms.length > lenet.augment!.transforms.length);
});
