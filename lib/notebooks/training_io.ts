/**
 * The steps the two training notebooks (03, 04) share, one call per cell: the architecture diagram, and
 * training in the notebook's run folder (full mode: until validation stops improving, resumable; quick
 * mode: one epoch from scratch).
 *
 * @example
 * ```ts
 * await architectureFigure(nb, "lenet");
 * const result = await trainNotebookModel(nb, "lenet");
 * ```
 *
 * @module
 */
import { createModel, MODEL_PARAMS } from "../models/registry.ts";
import type { NotebookSession } from "../notebook.ts";
import type { Displayable } from "../viz/jupyter.ts";
import { notebookProgress } from "../train/progress_io.ts";
import type { TrainResult } from "../train/train_io.ts";
import { saveArchitectureDiagram } from "../viz/thesis_figures_io.ts";
import { trainInRunFolder } from "./runs_io.ts";

/** Full mode trains at most this many epochs; early stopping ends a run once validation stops improving. */
export const MAX_EPOCHS = 300;
/** Epochs in quick mode. */
export const QUICK_EPOCHS = 1;

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
 * Trains `model` on the notebook's dataset in its run folder (`nb.modelDir(model)`) with a live progress
 * table: continues an unfinished full run, shows a finished one, starts afresh in quick mode.
 */
export async function trainNotebookModel(nb: NotebookSession, model: string): Promise<TrainResult> {
  return await trainInRunFolder(
    nb.ds,
    {
      model,
      epochs: nb.pick(MAX_EPOCHS, QUICK_EPOCHS),
      out: nb.modelDir(model),
      command: `deno task notebooks ${nb.quick ? "--quick" : "--full"} ${nb.prefix}`,
    },
    notebookProgress(),
    { fresh: nb.quick },
  );
}
