// %% [markdown]
// # 3 · Training the LeNet-style CNN
//
// The thesis's first model: three convolution + max-pooling blocks (32, 64, 128 filters of 3×3), a dense
// layer of 500 and 30 outputs (x and y of 15 keypoints).
//
// The first cell picks the dataset (`FKD_DATA=<dataset spec>`, else Kaggle's `data/training.csv` where it
// exists, else the **synthetic** embedded default) and the mode: `--quick` runs a small subset and one
// epoch, a full run all faces with the model's recipe until validation stops improving (see the README).

// %%
import { setupNotebook } from "../lib/notebook.ts";
const nb = await setupNotebook("03");
nb;

// %% [markdown]
// ## Backend
//
// tfjs picks WebGPU where a real GPU is there, else our WASM backend (with the project's convolution
// gradient kernels), else the slow CPU backend. `FKD_BACKEND=wasm|webgpu|cpu` forces one.

// %%
import { initBackend } from "../lib/backend_io.ts";
const backend = await initBackend();
backend;

// %% [markdown]
// ## The architecture
//
// Each box is a layer with its output shape (height × width × channels) and parameters.

// %%
import { architectureFigure, trainNotebookModel } from "../lib/notebooks/training_io.ts";
import { notebookModels } from "../lib/notebooks/analysis.ts";
const MODEL = notebookModels(Deno.env.toObject())[0]; // FKD_MODELS names others
await architectureFigure(nb, MODEL);

// %% [markdown]
// ## Training
//
// Adam, batch 32, coordinates normalised to [-1, 1], on-the-fly augmentation and the model's recipe
// (`lib/train/recipes.ts`: loss, schedule, augmentation, the metric that picks the best epoch), printed
// below with the same run as one `deno task train` command. The table updates live while the cell runs.
// The run folder (`outputs/models/notebooks/<dataset>/<model>/`) keeps a checkpoint after every epoch:
// running this cell again continues an unfinished run and shows a finished one without training again (quick mode always starts afresh, in `notebooks-quick/`).

// %%
import { heldOutPredictions, trainingSummary } from "../lib/notebooks/runs_io.ts";
import { md } from "../lib/notebook.ts";
import { recipeSummary } from "../lib/notebooks/training_io.ts";
const result = await trainNotebookModel(nb, MODEL);
md([recipeSummary(nb, MODEL), trainingSummary(result, backend.backend)].join("\n\n"));

// %% [markdown]
// ## Loss per epoch (log scale)
//
// The thesis's learning-curve figure: training loss (on augmented batches) and validation loss, both as
// masked MSE in normalised units (whatever loss the recipe minimised).

// %%
import { lossCurvesLog } from "../lib/viz/thesis_figures.ts";
await nb.figure(lossCurvesLog(result.history, `${MODEL}: training and validation loss`), `${MODEL}_loss_log`);

// %%
import { learningCurves } from "../lib/viz/figures.ts";
await nb.figure(
  learningCurves(result.history, {
    keys: ["loss", "train_rmse_px", "val_rmse_px"],
    title: `Learning curves: ${MODEL}`,
  }),
  `${MODEL}_learning_curves`,
);

// %% [markdown]
// ## Per-keypoint error on the validation faces
//
// RMSE in pixels of the 96×96 face (the Kaggle metric), NME (mean error over the outer-eye-corner distance)
// and PCK (share of points within 5 % / 10 % of that distance) are in the table above.

// %%
import { perKeypointTable } from "../lib/evaluate/metrics.ts";
md(perKeypointTable([{ name: MODEL, metrics: result.metrics }]));

// %% [markdown]
// ## Predictions on held-out faces
//
// A 4×4 grid of validation faces (faces the model never trained on, spread over the set), each with its
// predicted keypoints and mean error.

// %%
import { predictionGrid } from "../lib/viz/thesis_figures.ts";
const held = await heldOutPredictions(nb.ds, result);
await nb.faces(`${MODEL}_predictions_4x4`, predictionGrid(held.faces, held.predicted, held.errors), {
  columns: 4,
  scale: 2,
});

// %% [markdown]
// ## Best and worst predictions
//
// The validation faces with the smallest and the largest mean keypoint error.

// %%
import { bestAndWorst } from "../lib/notebooks/analysis.ts";
const { best, worst } = bestAndWorst(held.errors, 6);
const faceGrid = (name: string, indices: number[]) =>
  nb.faces(name, predictionGrid(held.faces, held.predicted, held.errors, { indices }), {
    columns: 6,
    scale: 2,
  });
await faceGrid(`${MODEL}_best`, best);

// %%
await faceGrid(`${MODEL}_worst`, worst);

// %%
result.model.dispose();
await nb.close();
