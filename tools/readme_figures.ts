/**
 * Regenerates the README's figures in `docs/figures/` from trained model folders and the data notebooks'
 * figures: learning curves of each training run, the bundled model on the portraits, and copies of the
 * key notebook figures (run `FKD_DATA=../shared/data/ytf68 deno task notebooks --quick` first).
 *
 * `deno run -A tools/readme_figures.ts outputs/models/ytf68-lenet outputs/models/ytf68-thesis-resnet`
 *
 * @module
 */
import { basename, join } from "node:path";
import { initBackend } from "../lib/backend_io.ts";
import { createFaceDetector } from "../lib/face/mod.ts";
import { DEFAULT_MODEL_DIR, loadKeypointModel } from "../lib/models/mod.ts";
import { FigureRenderer, learningCurves, saveFigure } from "../lib/viz/mod.ts";
import { annotateResult, predictImageFile } from "../lib/face/mod.ts";

const OUT = "docs/figures";
const NOTEBOOK_FIGURES = [
  "01_kaggle_missing_keypoints.png",
  "01_mean_face.png",
  "01_keypoint_density.png",
  "02_augment_flip.png",
  "02_augment_default.png",
];

await Deno.mkdir(OUT, { recursive: true });
const renderer = await FigureRenderer.create();
try {
  for (const dir of Deno.args) {
    const history = JSON.parse(await Deno.readTextFile(join(dir, "history.json")));
    const fig = learningCurves(history, {
      title: `${basename(dir)}: learning curves`,
      keys: ["loss", "val_rmse_px", "train_rmse_px"],
    });
    const saved = await saveFigure(fig, join(OUT, `${basename(dir)}_learning_curves`), {
      renderer,
      scale: 1,
    });
    await Deno.remove(saved.html); // the README shows PNGs; the HTML lives in outputs/
    console.log(saved.png);
  }
} finally {
  await renderer.close();
}
// Only the PNGs: the HTML pages need the 10 MB plotly bundle beside them.
await Deno.remove(join(OUT, "plotly.js")).catch(() => {});

await initBackend();
const model = await loadKeypointModel(DEFAULT_MODEL_DIR);
const detector = await createFaceDetector();
for (const file of ["astronaut.png", "grace_hopper.jpg"]) {
  const result = await predictImageFile(join("data/portraits", file), detector, model);
  const out = join(OUT, `default_model_${file.replace(/\.\w+$/, "")}.png`);
  await annotateResult(result, out);
  console.log(out);
}
detector.close();

for (const name of NOTEBOOK_FIGURES) {
  await Deno.copyFile(join("outputs/figures", name), join(OUT, name));
  console.log(join(OUT, name));
}
