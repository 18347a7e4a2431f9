// %% [markdown]
// # 5 · Comparing the models and applying them to photos
//
// The LeNet-style net (notebook 3) and the ResNet model (notebook 4) side by side on the same validation
// faces: metrics, per-keypoint error, error distributions, speed and size. Then whole photos: faces found by
// OpenCV's Haar cascade in portraits, annotated by both models, and the end-to-end error on held-out photos.
// Last, where Kaggle's data is in `data/`, a competition submission.
//
// Run notebooks 3 and 4 first: this one loads the models they saved (`outputs/models/notebooks/…`, or
// `notebooks-quick/…` in quick mode).
//
// The first cell picks the dataset (`FKD_DATA=<dataset spec>`, else Kaggle's `data/training.csv` where it
// exists, else the **synthetic** embedded default) and the mode: `--quick` runs a small subset and 1–2
// epochs, a full run all faces until validation stops improving (see the README).

// %%
import { setupNotebook } from "../lib/notebook.ts";
const nb = await setupNotebook("05");
nb;

// %% [markdown]
// The validation faces are the split each model was trained with, as its `metadata.json` records it
// (validation share, seed), not recomputed from today's defaults.

// %%
import { initBackend } from "../lib/backend_io.ts";
import { type KeypointModel, loadKeypointModel } from "../lib/models/mod.ts";
import { notebookModels } from "../lib/notebooks/analysis.ts";
import { validationSplitOf } from "../lib/notebooks/runs_io.ts";
const backend = await initBackend();
const names = notebookModels(Deno.env.toObject()); // FKD_MODELS=a,b names others
const models: KeypointModel[] = [];
for (const name of names) {
  try {
    models.push(await loadKeypointModel(nb.modelDir(name)));
  } catch (err) {
    throw new Error(`no trained ${name} in ${nb.modelDir(name)}: run notebooks 03 and 04 first (${err})`);
  }
}
const validation = validationSplitOf(nb.ds, models[0].metadata);
for (const m of models.slice(1)) {
  if (validationSplitOf(nb.ds, m.metadata).n !== validation.n) {
    throw new Error(`${m.name} was validated on other faces than ${models[0].name}: retrain both`);
  }
}
`${models.map((m) => m.name).join(" and ")} on ${validation.n} validation faces (${backend.backend})`;

// %% [markdown]
// ## Metrics

// %%
import { md } from "../lib/notebook.ts";
import { comparisonTable } from "../lib/evaluate/metrics.ts";
import { compareModels } from "../lib/notebooks/analysis.ts";
const runs = await compareModels(models, validation);
md(comparisonTable(runs));

// %% [markdown]
// ## Per-keypoint error and error distribution

// %%
import { barChart, errorDistribution, perKeypointRmseChart } from "../lib/viz/figures.ts";
await nb.figure(
  perKeypointRmseChart(
    runs.map((r) => ({ name: r.name, per_keypoint_rmse_px: r.metrics.per_keypoint_rmse_px })),
  ),
  "per_keypoint_rmse",
);

// %%
await nb.figure(
  errorDistribution(runs, { title: "Mean keypoint error per validation face" }),
  "error_histogram",
);

// %%
await nb.figure(
  errorDistribution(runs, { kind: "box", title: "Mean keypoint error per validation face" }),
  "error_box",
);

// %%
import { perKeypointTable } from "../lib/evaluate/metrics.ts";
md(perKeypointTable(runs));

// %% [markdown]
// ## Best and worst faces of each model
//
// The validation faces with the smallest and the largest mean keypoint error, per model.

// %%
import { bestAndWorst } from "../lib/notebooks/analysis.ts";
import { predictionGrid } from "../lib/viz/thesis_figures.ts";
for (const r of runs) {
  const { best, worst } = bestAndWorst(r.errors, 6);
  for (const [which, indices] of [["best", best], ["worst", worst]] as const) {
    const faces = predictionGrid(validation, r.predicted, r.errors, { indices });
    await nb.display(await nb.faces(`${r.name}_${which}`, faces, { columns: 6, scale: 2 }));
  }
}
md(`Best and worst faces: \`outputs/figures/05_<model>_best.png\`, \`05_<model>_worst.png\`.`);

// %% [markdown]
// ## Speed and size

// %%
await nb.figure(
  barChart(runs.map((r) => r.name), runs.map((r) => r.imagesPerSec), {
    title: `Inference speed (${backend.backend}, batch 64)`,
    yTitle: "images per second",
  }),
  "inference_speed",
);

// %%
await nb.figure(
  barChart(runs.map((r) => r.name), runs.map((r) => r.params / 1e6), {
    title: "Model size",
    yTitle: "parameters (millions)",
  }),
  "model_size",
);

// %% [markdown]
// ## Faces in portraits
//
// The thesis's portrait figures: each portrait, the faces OpenCV's Haar cascade finds in it, and the 15
// keypoints both models predict in each face (cropped to 96×96 like the training faces, then mapped back
// to the photo).

// %%
import { join } from "node:path";
import { createFaceDetector } from "../lib/face/detect_io.ts";
import { listPortraits, portraitFigures } from "../lib/notebooks/portraits_io.ts";
const detector = await createFaceDetector();
const portraits = await portraitFigures(
  listPortraits("../data/portraits"),
  detector,
  models,
  join(nb.figuresDir, nb.prefix),
);
for (const p of portraits) {
  const steps = ["portrait", "Haar boxes", ...models.map((m) => `${m.name} keypoints`)];
  await nb.display(
    await nb.images(p.files, `${p.file}: ${p.faces} face(s); ${steps.join(", ")}`, { height: 280 }),
  );
}
md(`${portraits.length} portraits; the files are \`outputs/figures/05_portrait_*.png\`.`);

// %% [markdown]
// ## End to end on held-out photos
//
// Detect → crop → predict → compare with the ground truth in the original photo's pixels, with
// `deno task predict`'s detector, one refinement round and flip test-time augmentation (the line above the
// table names them; predict also adds scale test-time augmentation, measured in the README), on photos no
// model trained on: the models' validation faces where they come from photos (held out by person and by
// photo, the README's set), else the ytf68 test frames beside the checkout (other frames of the training
// people); `FKD_E2E_DATA` names others. A photo fails where the face is missed or its NME (mean error over
// the outer-eye-corner distance) exceeds 0.10.

// %%
import { openDetector } from "../lib/evaluate/end_to_end_io.ts";
import { DETECTION_CACHE_DIR } from "../lib/face/detection_cache_io.ts";
import { DEFAULT_DETECTOR, DEFAULT_FLIP, DEFAULT_REFINE } from "../lib/face/predict_io.ts";
import { endToEndComparisonTable } from "../lib/notebooks/analysis.ts";
import { compareEndToEnd, endToEndPhotos } from "../lib/notebooks/runs_io.ts";
import { fileExists, REPO_ROOT } from "../lib/notebook.ts";
const held = await endToEndPhotos(
  validation,
  nb.choice.spec,
  { FKD_E2E_DATA: Deno.env.get("FKD_E2E_DATA") },
  [join(REPO_ROOT, "..", "shared", "data", "ytf68:test")],
  nb.pick(undefined, 40),
);
const detection = await openDetector({
  detectorSpec: DEFAULT_DETECTOR,
  cache: true,
  cacheDir: join(REPO_ROOT, DETECTION_CACHE_DIR),
});
const e2e = held
  ? await compareEndToEnd(detection.detector, models, held.photos, {
    refine: DEFAULT_REFINE,
    flip: DEFAULT_FLIP,
    detectionCache: detection.detectionCache,
  })
  : [];
await detection.detectionCache?.save();
detection.detector.close();
held
  ? md(
    `**${held.label}**; detector ${DEFAULT_DETECTOR}, refine ${DEFAULT_REFINE}, flip ` +
      `${DEFAULT_FLIP ? "on" : "off"}\n\n${endToEndComparisonTable(e2e)}`,
  )
  : md("No held-out photos with landmarks here (set `FKD_E2E_DATA`): skipped.");

// %%
e2e.length
  ? await nb.figure(
    errorDistribution(e2e.map((r) => ({ name: r.name, errors: r.nme })), {
      title: "End to end: NME per held-out photo (failure above 0.10)",
      unit: "NME (mean error / outer-eye-corner distance)",
      binSize: 0.01,
    }),
    "end_to_end_nme",
  )
  : md("skipped");

// %% [markdown]
// ## A Kaggle submission
//
// With Kaggle's `training.csv` and `test.csv` in `data/` (the notebooks then train on `training.csv`), the
// first model predicts the test faces and the rows `IdLookupTable.csv` asks for are written to
// `outputs/submission.csv`; `deno task submit --model DIR --test data/test.csv --out submission.csv` does
// the same from the command line.

// %%
import { findLookupTable, makeSubmission } from "../lib/submission_io.ts";
const kaggle = {
  training: nb.choice.spec === join(REPO_ROOT, "data", "training.csv"),
  test: join(REPO_ROOT, "data", "test.csv"),
  lookup: ((): string | null => {
    try {
      return findLookupTable();
    } catch {
      return null;
    }
  })(),
};
kaggle.training && kaggle.lookup && fileExists(kaggle.test)
  ? md(
    await makeSubmission({
      model: nb.modelDir(models[0].name),
      test: kaggle.test,
      out: join(REPO_ROOT, "outputs", "submission.csv"),
      lookup: kaggle.lookup,
    }).then((s) => `${s.model}: ${s.faces} test faces → ${s.rows} rows in \`outputs/submission.csv\`.`),
  )
  : md(
    `Skipped: this run ${kaggle.training ? "trains on" : "does not train on"} data/training.csv; ` +
      `data/test.csv is ${fileExists(kaggle.test) ? "here" : "missing"}; IdLookupTable.csv is ${
        kaggle.lookup ? "here" : "missing"
      }.`,
  );

// %%
detector.close();
for (const m of models) m.model.dispose();
await nb.close();
