#!/usr/bin/python3
"""Writes the five thesis notebooks (notebooks/*.ipynb, Deno kernel) from the cell texts below.

The notebooks are committed with their outputs; edit the cells here, run
`/usr/bin/python3 tools/make_notebooks.py`, then `deno task notebooks` to execute them again. A notebook
is rewritten only where its cell sources changed, so outputs of unchanged notebooks survive.

Each notebook stays thin: prose and calls into lib/ (see lib/notebook.ts for the shared first cell).
"""

import os
import sys

import nbformat

HERE = os.path.dirname(os.path.abspath(__file__))
NOTEBOOKS = os.path.join(HERE, "..", "notebooks")

SETUP_HELP = (
    "The first cell picks the dataset: `FKD_DATA=<dataset spec>` (e.g. `../shared/data/ytf68` or a Kaggle "
    "`training.csv`; relative paths are taken from the repository root), else `data/training.csv` where it "
    "exists, else the **synthetic** embedded default. `FKD_QUICK=1` (`deno task notebooks --quick`) uses a "
    "small subset and 1–2 epochs."
)


def md(text):
    return ("markdown", text.strip("\n"))


def code(text):
    return ("code", text.strip("\n"))


EXPLORE = [
    md("""
# 1 · Exploring the data

The thesis trains on Kaggle's *Facial Keypoints Detection* data: 96×96 grayscale faces with up to 15
labelled keypoints. This notebook looks at what we have: how many faces, which keypoints are missing, where
the keypoints lie in the frame, and the mean face.

""" + SETUP_HELP),
    code("""
import { setupNotebook } from "../lib/notebook.ts";
const nb = await setupNotebook("01");
nb
"""),
    md("""
## Missing keypoints

Kaggle's training file labels all 15 keypoints on only 2140 of its 7049 faces; most others have just the
eye centres, nose tip and bottom lip. The training loop masks missing coordinates out of the loss instead
of dropping those faces.
"""),
    code("""
import {
  keypointDensity,
  keypointScatter,
  keypointsPerFaceChart,
  meanFaceFigure,
  missingKeypointsChart,
} from "../lib/viz/mod.ts";
await nb.figure(missingKeypointsChart(nb.ds), "missing_keypoints");
"""),
    code("""
await nb.figure(keypointsPerFaceChart(nb.ds), "keypoints_per_face");
"""),
    md("""
## Sample faces

Keypoints are coloured by side: the subject's left in cyan, right in red, the midline (nose, lips) in
yellow. The subject's left eye appears on the image's right.
"""),
    code("""
const sample = Array.from({ length: Math.min(8, nb.ds.n) }, (_, i) => nb.face(nb.ds, i, `face ${i}`));
await nb.faces("sample_faces", sample, { columns: 8, scale: 2 });
"""),
    md("""
## Where the keypoints lie

Every labelled keypoint over the 96×96 frame (y grows downwards, as in the images), then the same as a
density.
"""),
    code("""
await nb.figure(keypointScatter(nb.ds, { maxFaces: 400 }), "keypoint_scatter");
"""),
    code("""
await nb.figure(keypointDensity(nb.ds), "keypoint_density");
"""),
    md("""
## The mean face

The pixel-wise mean of all faces, with the mean position of each keypoint on top.
"""),
    code("""
await nb.figure(meanFaceFigure(nb.ds), "mean_face");
"""),
    md("""
## The real Kaggle labels

Where the label-only copy of Kaggle's `training.csv` is at hand (`../shared/data/kaggle/`), its real
missingness, whatever dataset the notebook runs on.
"""),
    code("""
import { md } from "../lib/notebook.ts";
const kaggle = await nb.kaggleLabels();
kaggle
  ? await nb.figure(missingKeypointsChart(kaggle), "kaggle_missing_keypoints")
  : md("The Kaggle label file is not here (`../shared/data/kaggle/`): skipped.");
"""),
    code("""
kaggle
  ? await nb.figure(keypointsPerFaceChart(kaggle), "kaggle_keypoints_per_face")
  : md("skipped");
"""),
    code("""
await nb.close();
"""),
]

AUGMENT = [
    md("""
# 2 · Data augmentation

The thesis enlarges the training set with flipped, rotated, shifted and re-lit copies of each face. Each
transform here moves the keypoints together with the pixels; a horizontal flip also swaps left and right
keypoints (watch the colours: the subject's left stays cyan).

""" + SETUP_HELP),
    code("""
import { setupNotebook } from "../lib/notebook.ts";
const nb = await setupNotebook("02");
nb
"""),
    md("""
## Each transform on a few faces

The top row of each figure is the original, the bottom row the transformed face (probability 1, so every
face is changed).
"""),
    code("""
import * as A from "../lib/augment/mod.ts";
import { Rng } from "../lib/core/mod.ts";
const faces = Array.from({ length: Math.min(4, nb.ds.n) }, (_, i) => i);
const transforms = {
  flip: A.horizontalFlip({ p: 1 }),
  rotate: A.rotate({ p: 1, limit: 20 }),
  scale: A.scale({ p: 1, range: [0.8, 1.2] }),
  shift: A.shift({ p: 1, limit: 0.12 }),
  brightness: A.brightness({ p: 1, limit: 0.25 }),
  contrast: A.contrast({ p: 1, range: [0.6, 1.4] }),
  gamma: A.gamma({ p: 1, range: [0.6, 1.6] }),
  noise: A.gaussianNoise({ p: 1, std: [0.03, 0.06] }),
  blur: A.gaussianBlur({ p: 1, sigma: [0.8, 1.5] }),
};
async function beforeAfter(name: string, aug: A.Augmenter) {
  const rng = new Rng(1);
  const before = faces.map((i) => nb.face(nb.ds, i, "original"));
  const after = faces.map((i) => {
    const out = aug.apply(before[i].image, before[i].keypoints!, rng);
    return { image: out.image, keypoints: out.keypoints, label: name };
  });
  return await nb.faces(`augment_${name}`, [...before, ...after], { columns: faces.length, scale: 2 });
}
"""),
    code("""
await beforeAfter("flip", A.compose([transforms.flip]));
"""),
    code("""
await beforeAfter("rotate", A.compose([transforms.rotate], { fill: "edge" }));
"""),
    code("""
await beforeAfter("scale", A.compose([transforms.scale], { fill: "edge" }));
"""),
    code("""
await beforeAfter("shift", A.compose([transforms.shift], { fill: "edge" }));
"""),
    code("""
await beforeAfter("brightness", A.compose([transforms.brightness]));
"""),
    code("""
await beforeAfter("contrast", A.compose([transforms.contrast]));
"""),
    code("""
await beforeAfter("gamma", A.compose([transforms.gamma]));
"""),
    code("""
await beforeAfter("noise", A.compose([transforms.noise]));
"""),
    code("""
await beforeAfter("blur", A.compose([transforms.blur]));
"""),
    md("""
## The default augmentation

What the training loop applies on the fly to every batch (each transform with probability 0.5):
"""),
    code("""
const aug = A.defaultAugmentation();
console.log(aug.describe());
await beforeAfter("default", aug);
"""),
    md("""
## The expanded dataset

The thesis expanded the data set offline: each face plus augmented copies.
"""),
    code("""
import { md } from "../lib/notebook.ts";
const copies = nb.pick(3, 1);
const expanded = A.expandDataset(nb.ds, aug, copies, 0);
md(`**${nb.ds.n}** faces + ${copies} augmented ${copies === 1 ? "copy" : "copies"} each → **${expanded.n}** faces ` +
  `(\\`${expanded.name}\\`).`);
"""),
    code("""
await nb.faces("expanded_samples", [0, nb.ds.n, ...(copies > 1 ? [2 * nb.ds.n] : [])].flatMap((o) =>
  [0, 1, 2, 3].filter((i) => i < nb.ds.n).map((i) => nb.face(expanded, o + i, o === 0 ? "original" : "copy"))
), { columns: 4, scale: 2 });
"""),
    code("""
await nb.close();
"""),
]


def train_notebook(prefix, title, intro, model_cell, train_extra=""):
    return [
        md(f"# {title}\n\n{intro}\n\n" + SETUP_HELP),
        code(f"""
import {{ setupNotebook }} from "../lib/notebook.ts";
const nb = await setupNotebook("{prefix}");
nb
"""),
        md("""
## Backend

tfjs picks WebGPU where a real GPU is there, else our WASM backend (with the project's convolution
gradient kernels), else the slow CPU backend. `FKD_BACKEND=wasm|webgpu|cpu` forces one.
"""),
        code("""
import { initBackend } from "../lib/backend_io.ts";
const backend = await initBackend();
backend
"""),
        model_cell,
        md("""
## Training

Adam (learning rate 1e-3), batch 32, masked MSE on coordinates normalised to [-1, 1], on-the-fly
augmentation, learning rate halved on a plateau, early stopping on the validation RMSE. The table below
updates live while the cell runs; the best model is saved in `outputs/models/notebooks/<model>/`.
"""),
        code(f"""
import {{ train }} from "../lib/train/mod.ts";
import {{ notebookProgress }} from "../lib/train/mod.ts";
const result = await train(nb.ds, {{
  model: MODEL,
  epochs: nb.pick(EPOCHS, QUICK_EPOCHS),
  out: nb.modelDir(MODEL),{train_extra}
  overwrite: true, // each run of the notebook trains afresh
}}, notebookProgress());
`best epoch ${{result.bestEpoch}} of ${{result.history.length}} (${{result.stoppedBy}})`;
"""),
        md("## Learning curves"),
        code("""
import { learningCurves } from "../lib/viz/mod.ts";
await nb.figure(
  learningCurves(result.history, { keys: ["loss", "train_rmse_px", "val_rmse_px"], title: `Learning curves: ${MODEL}` }),
  `${MODEL}_learning_curves`,
);
"""),
        md("""
## Validation metrics

RMSE in pixels of the 96×96 face (the Kaggle metric), NME (mean error over the outer-eye-corner distance)
and PCK (share of points within 5 % / 10 % of that distance).
"""),
        code("""
import { md } from "../lib/notebook.ts";
import { comparisonTable, perKeypointTable } from "../lib/evaluate/mod.ts";
const perEpoch = result.history.reduce((a, r) => a + r.seconds, 0) / result.history.length;
md(comparisonTable([{ name: `${MODEL} (validation)`, metrics: result.metrics }]) +
  `\\n\\n${perEpoch.toFixed(1)} s per epoch on ${backend.backend} (${result.history.at(-1)!.images_per_sec.toFixed(1)} img/s training).`);
"""),
        code("""
md(perKeypointTable([{ name: MODEL, metrics: result.metrics }]));
"""),
        md("""
## Best and worst predictions

Validation faces with the smallest and the largest mean keypoint error, the prediction drawn on each.
"""),
        code("""
import { prepareData } from "../lib/train/mod.ts";
import { modelPredictor } from "../lib/models/mod.ts";
import { keypointErrors } from "../lib/viz/mod.ts";
const { validation } = prepareData(nb.ds, result.config);
const predicted = await modelPredictor(result.model, MODEL).predict(validation.images, validation.n);
const errors = keypointErrors(predicted, validation.keypoints, validation.n).perFace;
const order = Array.from(errors.keys()).filter((i) => Number.isFinite(errors[i])).sort((a, b) => errors[a] - errors[b]);
const show = (i: number) =>
  nb.face(validation, i, `${errors[i].toFixed(1)} px`, predicted.subarray(i * 30, (i + 1) * 30));
await nb.faces(`${MODEL}_best`, order.slice(0, 6).map(show), { columns: 6, scale: 2 });
"""),
        code("""
await nb.faces(`${MODEL}_worst`, order.slice(-6).reverse().map(show), { columns: 6, scale: 2 });
"""),
        code("""
result.model.dispose();
await nb.close();
"""),
    ]


LENET = train_notebook(
    "03",
    "3 · Training the LeNet-style CNN",
    "The thesis's first model: three convolution + max-pooling blocks (32, 64, 128 filters of 3×3), a dense "
    "layer of 500 and 30 outputs (x and y of 15 keypoints).",
    code("""
import { createModel } from "../lib/models/mod.ts";
const MODEL = "lenet";
const EPOCHS = 30, QUICK_EPOCHS = 1;
const summary = createModel(MODEL);
summary.summary();
const params = summary.countParams();
summary.dispose();
`${MODEL}: ${params.toLocaleString("en")} parameters`;
"""),
)

RESNET = train_notebook(
    "04",
    "4 · Training the ResNet models",
    "The thesis's second model is inspired by ResNet-50. `thesis-resnet` is the compact residual network the "
    "thesis trained; `resnet50` is the full [3, 4, 6, 3] bottleneck layout (23.6 M parameters), trained here "
    "only where `FKD_RESNET50=1` asks for it, because without a GPU one epoch takes hours. Its cost per epoch "
    "is measured below either way.",
    code("""
import { createModel, MODEL_PARAMS } from "../lib/models/mod.ts";
const MODEL = Deno.env.get("FKD_RESNET50") === "1" ? "resnet50" : "thesis-resnet";
const EPOCHS = 30, QUICK_EPOCHS = 1;
const summary = createModel(MODEL);
summary.summary();
const params = summary.countParams();
summary.dispose();
`${MODEL}: ${params.toLocaleString("en")} parameters (full ResNet-50: ${MODEL_PARAMS.resnet50.toLocaleString("en")})`;
"""),
) + [
    md("""
## The full ResNet-50: measured cost per epoch

One short training run of the full ResNet-50 on 16 faces (batch 8, the largest that fits the wasm heap
comfortably), and the time per epoch it implies for this dataset's training split.
"""),
    code("""
import { subset } from "../lib/data/mod.ts";
// No groups: a random split, so 16 faces of one person are fine.
const probeFaces = { ...subset(nb.ds, [...Array(Math.min(16, nb.ds.n)).keys()]), groups: undefined };
const probe = await train(probeFaces, {
  model: "resnet50", epochs: 1, batchSize: 8, validation: 0, augment: null,
});
const trainFaces = Math.round(nb.ds.n * 0.8);
probe.model.dispose();
md(`ResNet-50 on ${backend.backend}: ${probe.history[0].images_per_sec.toFixed(2)} img/s training → about ` +
  `**${(trainFaces / probe.history[0].images_per_sec / 60).toFixed(0)} min per epoch** for ${trainFaces} training faces ` +
  `(${(7049 * 0.8 / probe.history[0].images_per_sec / 3600).toFixed(1)} h for Kaggle's 5639).`);
"""),
]

COMPARE = [
    md("""
# 5 · Comparing the models and applying them to portraits

The LeNet-style net (notebook 3) and the ResNet model (notebook 4) side by side on the same validation
faces: metrics, per-keypoint error, error distributions, speed and size. Then faces found by OpenCV's Haar
cascade in portraits, annotated by both models.

Run notebooks 3 and 4 first: this one loads the models they saved (`outputs/models/notebooks/…`, or
`notebooks-quick/…` in quick mode).

""" + SETUP_HELP),
    code("""
import { setupNotebook } from "../lib/notebook.ts";
const nb = await setupNotebook("05");
nb
"""),
    code("""
import { initBackend } from "../lib/backend_io.ts";
import { loadKeypointModel } from "../lib/models/mod.ts";
import { resolveConfig, prepareData } from "../lib/train/mod.ts";
const backend = await initBackend();
const names = ["lenet", Deno.env.get("FKD_RESNET50") === "1" ? "resnet50" : "thesis-resnet"];
const models = [];
for (const name of names) {
  try {
    models.push(await loadKeypointModel(nb.modelDir(name)));
  } catch (err) {
    throw new Error(`no trained ${name} in ${nb.modelDir(name)}: run notebooks 03 and 04 first (${err})`);
  }
}
// The same split the training loop used (default validation share and seed).
const { validation } = prepareData(nb.ds, resolveConfig({ augment: null }));
`${models.map((m) => m.name).join(" and ")} on ${validation.n} validation faces (${backend.backend})`;
"""),
    md("## Metrics"),
    code("""
import { md } from "../lib/notebook.ts";
import { comparisonTable, evaluate } from "../lib/evaluate/mod.ts";
import { keypointErrors } from "../lib/viz/mod.ts";
const runs = [];
for (const m of models) {
  const start = performance.now();
  const predicted = await m.predict(validation.images, validation.n);
  const seconds = (performance.now() - start) / 1000;
  runs.push({
    name: m.name,
    predicted,
    metrics: evaluate(predicted, validation.keypoints),
    errors: keypointErrors(predicted, validation.keypoints, validation.n).perFace,
    imagesPerSec: validation.n / seconds,
    params: m.model.countParams(),
  });
}
md(comparisonTable(runs));
"""),
    code("""
import { errorDistribution, perKeypointRmseChart } from "../lib/viz/mod.ts";
await nb.figure(
  perKeypointRmseChart(runs.map((r) => ({ name: r.name, per_keypoint_rmse_px: r.metrics.per_keypoint_rmse_px }))),
  "per_keypoint_rmse",
);
"""),
    code("""
await nb.figure(errorDistribution(runs, { title: "Mean keypoint error per validation face" }), "error_histogram");
"""),
    code("""
await nb.figure(errorDistribution(runs, { kind: "box", title: "Mean keypoint error per validation face" }), "error_box");
"""),
    md("## Speed and size"),
    code("""
import { barChart } from "../lib/viz/mod.ts";
await nb.figure(
  barChart(runs.map((r) => r.name), runs.map((r) => r.imagesPerSec), {
    title: `Inference speed (${backend.backend}, batch 64)`,
    yTitle: "images per second",
  }),
  "inference_speed",
);
"""),
    code("""
await nb.figure(
  barChart(runs.map((r) => r.name), runs.map((r) => r.params / 1e6), {
    title: "Model size",
    yTitle: "parameters (millions)",
  }),
  "model_size",
);
"""),
    md("""
## Faces in portraits

OpenCV's Haar cascade finds the faces; each is cropped to 96×96 like the training faces, and both models
predict its keypoints, mapped back to the photo.
"""),
    code("""
import { createFaceDetector } from "../lib/face/mod.ts";
import { annotateResult, predictImageFile } from "../lib/face/mod.ts";
const detector = await createFaceDetector();
const portraits = [...Deno.readDirSync("../data/portraits")].map((e) => e.name).filter((f) => /\\.(png|jpe?g)$/i.test(f)).sort();
for (const file of portraits) {
  const outs = [];
  const found = [];
  for (const m of models) {
    const result = await predictImageFile(`../data/portraits/${file}`, detector, m);
    const out = `${nb.outputPath(`portrait_${file.replace(/\\.\\w+$/, "")}_${m.name}`)}.png`;
    await annotateResult(result, out);
    outs.push(out);
    found.push(`${m.name}: ${result.faces.length} face(s)`);
  }
  await nb.display(await nb.images(outs, `${file} (${found.join("; ")}), left to right: ${models.map((m) => m.name).join(", ")}`));
}
md(`${portraits.length} portraits; annotated files in \\`outputs/figures/05_portrait_*.png\\`.`);
"""),
    code("""
for (const m of models) m.model.dispose();
await nb.close();
"""),
]

ALL = {
    "01_explore_data.ipynb": EXPLORE,
    "02_augmentation.ipynb": AUGMENT,
    "03_train_lenet.ipynb": LENET,
    "04_train_resnet50.ipynb": RESNET,
    "05_compare_and_apply.ipynb": COMPARE,
}

KERNEL = {
    "kernelspec": {"name": "deno", "display_name": "Deno", "language": "typescript"},
    "language_info": {
        "name": "typescript",
        "file_extension": ".ts",
        "mimetype": "text/x.typescript",
        "codemirror_mode": "typescript",
        "pygments_lexer": "typescript",
    },
}


def build(cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata = dict(KERNEL)
    for kind, text in cells:
        nb.cells.append(nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text))
    return nb


def main():
    os.makedirs(NOTEBOOKS, exist_ok=True)
    for name, cells in ALL.items():
        path = os.path.join(NOTEBOOKS, name)
        new = build(cells)
        if os.path.exists(path):
            old = nbformat.read(path, as_version=4)
            if [(c.cell_type, c.source) for c in old.cells] == [(c.cell_type, c.source) for c in new.cells]:
                print(f"unchanged {name}")
                continue
        # Cell ids are random; fix them so regenerating gives the same file.
        for i, cell in enumerate(new.cells):
            cell["id"] = f"{name[:2]}-{i:02d}"
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            nbformat.write(new, f)
        os.replace(tmp, path)
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
