// %% [markdown]
// # 4 · Training the ResNet models
//
// The thesis's second model is inspired by ResNet-50. `thesis-resnet` is the compact residual network the
// thesis trained; `resnet50` is the full [3, 4, 6, 3] bottleneck layout (23.6 M parameters), trained here
// only where `FKD_RESNET50=1` asks for it, because without a GPU one epoch takes hours. Its cost per epoch
// is measured at the end either way. (`FKD_MODELS=lenet,<model>` trains another registered model here.)
//
// The first cell picks the dataset (`FKD_DATA=<dataset spec>`, else Kaggle's `data/training.csv` where it
// exists, else the **synthetic** embedded default) and the mode: `--quick` runs a small subset and one
// epoch, a full run all faces with the model's recipe until validation stops improving (see the README).

// %%
import { setupNotebook } from "../lib/notebook.ts";
const nb = await setupNotebook("04");
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
// Each box is a layer with its output shape (height × width × channels) and parameters; the purple arcs
// are the residual (skip) connections that each `Add` layer sums with the block's output.

// %%
import { architectureFigure, trainNotebookModel } from "../lib/notebooks/training_io.ts";
import { notebookModels } from "../lib/notebooks/analysis.ts";
const MODEL = notebookModels(Deno.env.toObject())[1]; // FKD_MODELS names others
// The thesis's ResNet is drawn even where another model trains here.
if (MODEL !== "thesis-resnet") await nb.display(await architectureFigure(nb, "thesis-resnet"));
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
// masked MSE in normalised units (whatever loss the recipe minimised). Notebook 5 compares this model with
// the LeNet: per-keypoint error, best and worst faces, speed and size.

// %%
import { lossCurvesLog } from "../lib/viz/thesis_figures.ts";
await nb.figure(lossCurvesLog(result.history, `${MODEL}: training and validation loss`), `${MODEL}_loss_log`);

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
// ## The full ResNet-50: measured cost per epoch
//
// One short training run of the full ResNet-50 on 16 faces (8 in quick mode; batch 8, the largest that fits
// the wasm heap comfortably), and the time per epoch it implies for this dataset's training split and for Kaggle's.

// %%
import { roughDuration } from "../lib/notebooks/analysis.ts";
import { measureEpochCost } from "../lib/notebooks/runs_io.ts";
// Quick mode measures one step of 8 faces (the model alone needs 3.4 GB of wasm heap).
const cost = await measureEpochCost(nb.ds, "resnet50", held.trainFaces, { faces: nb.pick(16, 8) });
md(
  `ResNet-50 on ${backend.backend}: ${cost.imagesPerSec.toFixed(2)} img/s training → about ` +
    `**${roughDuration(cost.secondsPerEpoch)} per epoch** for ${cost.trainFaces} training faces ` +
    `(${roughDuration((7049 * 0.8) / cost.imagesPerSec)} for Kaggle's 5639).`,
);

// %%
result.model.dispose();
await nb.close();
