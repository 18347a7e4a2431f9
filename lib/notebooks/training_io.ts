/**
 * The steps the two training notebooks (03, 04) share, one call per cell: the architecture diagram, and
 * training in the notebook's run folder (full mode: the model's recipe, a cosine schedule to its floor,
 * resumable; quick mode: one epoch from scratch).
 *
 * @example
 * ```ts
 * import { setupNotebook } from "../notebook.ts";
 * const nb = await setupNotebook("03");
 * await architectureFigure(nb, "lenet");
 * const result = await trainNotebookModel(nb, "lenet");
 * ```
 *
 * @module
 */
import { createModel, MODEL_PARAMS } from "../models/registry.ts";
import { relative } from "node:path";
import { type NotebookSession, REPO_ROOT } from "../notebook.ts";
import type { Displayable } from "../viz/jupyter.ts";
import { notebookProgress } from "../train/progress_io.ts";
import type { TrainResult } from "../train/train_io.ts";
import { saveArchitectureDiagram } from "../viz/thesis_figures_io.ts";
import { recipeConfig, recipeOf } from "../train/recipes.ts";
import { trainInRunFolder } from "./runs_io.ts";

/** Epochs in quick mode (full mode: the model's recipe, `lib/train/recipes.ts`). */
export const QUICK_EPOCHS = 1;
/**
 * Share of the faces held out for validation in full mode (by person and by photo): a tenth of ytf68 +
 * 300-W is 514 faces, the split of the bundled model, so that the notebooks and the README score the same
 * faces. Quick mode keeps a fifth of its few faces.
 */
export const FULL_VALIDATION = 0.1;
export const QUICK_VALIDATION = 0.2;

/** Writes `<prefix>_<model>_architecture.png` (and `.svg`) and shows it. */
export async function architectureFigure(nb: NotebookSession, model: string): Promise<Displayable> {
  const built = createModel(model);
  try {
    const full = model === "resnet50"
      ? ""
      : ` (full ResNet-50: ${MODEL_PARAMS.resnet50.toLocaleString("en")})`;
    const title = `${model}: ${built.countParams().toLocaleString("en")} parameters${
      model.includes("resnet") ? full : ""
    }`;
    return await nb.image(
      await saveArchitectureDiagram(built, nb.outputPath(`${model}_architecture`), { title }),
    );
  } finally {
    built.dispose();
  }
}

/**
 * Trains `model` on the notebook's dataset in its run folder (`nb.modelDir(model)`) with its recipe
 * (`lib/train/recipes.ts`) and a live progress table: continues an unfinished full run, shows a finished
 * one, starts afresh in quick mode.
 */
export async function trainNotebookModel(nb: NotebookSession, model: string): Promise<TrainResult> {
  return await trainInRunFolder(
    nb.ds,
    {
      ...recipeConfig(model),
      model,
      epochs: nb.pick(recipeOf(model).epochs, QUICK_EPOCHS),
      validation: nb.pick(FULL_VALIDATION, QUICK_VALIDATION),
      out: nb.modelDir(model),
      command: notebookCommand(nb),
    },
    notebookProgress(),
    { fresh: nb.quick },
  );
}

/**
 * Markdown: the recipe `model` trains with in this notebook, and the same run as one `deno task train`
 * command (the dataset as the notebook was given it).
 */
export function recipeSummary(nb: NotebookSession, model: string): string {
  const r = recipeOf(model);
  const epochs = nb.pick(r.epochs, QUICK_EPOCHS);
  const validation = nb.pick(FULL_VALIDATION, QUICK_VALIDATION);
  const schedule = r.schedule === "cosine"
    ? `cosine from ${r.lr.toExponential()} down to ${r.minLr.toExponential()} over ${epochs} epoch` +
      (epochs === 1 ? "" : "s")
    : `from ${r.lr.toExponential()}, halved on a plateau`;
  const loss = { mse: "masked MSE", wing: "Wing", l1: "L1" }[r.loss];
  return [
    `**Recipe of ${model}** (\`lib/train/recipes.ts\`): ${loss} loss, Adam ${schedule}, the ` +
    `${r.augmentation} augmentation, the best epoch by validation ${r.selectBy.toUpperCase()}` +
    `${r.patience ? `, early stopping after ${r.patience} epochs without improvement` : ""}; ` +
    `${validation * 100} % of the faces held out (by person and photo).`,
    "The same run from the command line:",
    "```sh\n" +
    `deno task train --model ${model} --data ${nb.choice.shownAs ?? nb.choice.spec} --validation ` +
    `${validation} --recipe${nb.quick ? ` --epochs ${epochs}` : ""} --out ` +
    `${relative(REPO_ROOT, nb.modelDir(model))}\n` + "```",
  ].join("\n\n");
}

/** The command that makes this notebook's run, with the environment that chose its data and models. */
export function notebookCommand(
  nb: NotebookSession,
  env: Record<string, string> = Deno.env.toObject(),
): string {
  const vars = ["FKD_DATA", "FKD_MODELS"].filter((k) => env[k]?.trim()).map((k) => `${k}=${env[k].trim()}`);
  return [...vars, `deno task notebooks ${nb.quick ? "--quick" : "--full"} ${nb.prefix}`].join(" ");
}
