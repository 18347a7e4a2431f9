import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import sharp from "sharp";
import * as A from "../lib/augment/mod.ts";
import { KEYPOINT_NAMES } from "../lib/core/constants.ts";
import { syntheticDataset } from "../lib/data/synthetic.ts";
import { createFaceDetector } from "../lib/face/detect_io.ts";
import { UsageError } from "../lib/core/errors.ts";
import { createModel } from "../lib/models/registry.ts";
import type { KeypointPredictor } from "../lib/models/types.ts";
import { listPortraits, portraitFigures } from "../lib/notebooks/portraits_io.ts";
import { architectureFigure } from "../lib/notebooks/training_io.ts";
import { NotebookSession } from "../lib/notebook.ts";
import {
  architectureSvg,
  beforeAfter,
  firstCompleteFace,
  flipMisalignment,
  layerRows,
  lossCurvesLog,
  predictionGrid,
} from "../lib/viz/thesis_figures.ts";
import { saveArchitectureDiagram } from "../lib/viz/thesis_figures_io.ts";

await tf.setBackend("cpu");
const ds = syntheticDataset({ n: 20, seed: 4 });
const k = (name: string) => KEYPOINT_NAMES.indexOf(name as (typeof KEYPOINT_NAMES)[number]) * 2;

Deno.test("flipMisalignment: mirrored-only labels land on the wrong side, the swapped flip keeps them", () => {
  const i = firstCompleteFace(ds);
  assert.ok(ds.mask.subarray(i * 30, i * 30 + 30).every((m) => m === 1), "a face with all 15 keypoints");
  const kp = ds.keypoints.subarray(i * 30, i * 30 + 30);
  const [original, unswapped, swapped] = flipMisalignment(ds.images.subarray(i * 9216, (i + 1) * 9216), kp);
  assert.equal(original.keypoints, kp);
  const left = k("left_eye_center"), right = k("right_eye_center");
  // Not swapped: "left eye" is the left eye's point mirrored, now where the right eye was drawn.
  assert.equal(unswapped.keypoints![left], Math.fround(95 - kp[left]));
  // Swapped: "left eye" is the mirrored right eye, i.e. on the mirrored image's left-eye feature.
  assert.equal(swapped.keypoints![left], Math.fround(95 - kp[right]));
  assert.equal(swapped.keypoints![left + 1], kp[right + 1]);
  assert.equal(unswapped.image, swapped.image);
  assert.equal(unswapped.image[0], original.image[95], "the image is mirrored");
  assert.deepEqual([original, unswapped, swapped].map((f) => f.label), [
    "original",
    "flip, not swapped",
    "flip, swapped",
  ]);
  assert.throws(() => flipMisalignment(new Float32Array(10), kp), UsageError);
});

Deno.test("lossCurvesLog: training and validation loss on one log axis, validation from val_rmse_px", () => {
  const fig = lossCurvesLog([
    { epoch: 1, loss: 0.04, val_rmse_px: 9.6 },
    { epoch: 2, loss: 0.01, val_rmse_px: 4.8 },
  ], "lenet");
  assert.deepEqual(fig.data.map((t) => t.name), ["loss", "val_loss"]);
  const val = fig.data[1].y as number[];
  assert.ok(Math.abs(val[0] - 0.04) < 1e-12 && Math.abs(val[1] - 0.01) < 1e-12, "(val_rmse_px / 48)²");
  assert.equal((fig.layout.yaxis as { type: string }).type, "log");
  assert.throws(() => lossCurvesLog([{ epoch: 1, val_rmse_px: 3 }], "x"), /no loss column/);
});

Deno.test("predictionGrid: 16 faces spread over the set with their error, or the faces asked for", () => {
  const predicted = ds.keypoints.map((v) => v + 1);
  const errors = Float32Array.from({ length: ds.n }, (_, i) => i / 10);
  const grid = predictionGrid(ds, predicted, errors);
  assert.equal(grid.length, 16);
  assert.equal(grid[1].keypoints![0], predicted[30 * 1], "face 1 of 20 (k·20/16 rounded down)");
  assert.equal(grid[15].label, "1.8 px", "face 18");
  const picked = predictionGrid(ds, predicted, errors, { indices: [19, 0] });
  assert.deepEqual(picked.map((f) => f.label), ["1.9 px", "0.0 px"]);
  assert.equal(predictionGrid(ds, predicted, undefined, { count: 4 })[0].label, undefined);
  assert.throws(() => predictionGrid(ds, predicted, errors, { indices: [20] }), /face 20 is not in 0\.\.19/);
  assert.throws(() => predictionGrid(ds, predicted.subarray(30), errors), UsageError);
});

Deno.test("beforeAfter: originals on top, each transformed once below", () => {
  const faces = beforeAfter(ds, [0, 1, 2], A.compose([A.horizontalFlip({ p: 1 })]), "flip");
  assert.equal(faces.length, 6);
  assert.deepEqual(faces.map((f) => f.label), ["original", "original", "original", "flip", "flip", "flip"]);
  assert.equal(faces[3].image[0], faces[0].image[95]);
});

Deno.test("architecture diagram: one box per layer with its shape, residual arcs for the ResNet", async () => {
  const lenet = createModel("lenet");
  const rows = layerRows(lenet);
  assert.equal(rows.length, lenet.layers.length);
  assert.equal(rows.at(-1)!.shape, "30");
  assert.ok(
    rows.some((r) => r.type === "Conv2D" && r.shape === "94×94×32"),
    JSON.stringify(rows.slice(0, 3)),
  );
  assert.equal(rows.reduce((a, r) => a + r.params, 0), lenet.countParams());
  assert.ok(!architectureSvg(rows).includes("<path"), "a plain chain has no skip connections");
  lenet.dispose();

  const resnet = createModel("thesis-resnet");
  const resRows = layerRows(resnet);
  const adds = resRows.filter((r) => r.type === "Add");
  assert.ok(adds.length > 0 && adds.every((r) => r.inputs.length === 2));
  const svg = architectureSvg(resRows, { title: "thesis-resnet" });
  assert.ok((svg.match(/<path /g) ?? []).length >= adds.length, "an arc for each residual connection");
  const dir = await Deno.makeTempDir({ prefix: "arch_test_" });
  try {
    const png = await saveArchitectureDiagram(resnet, join(dir, "resnet"), { title: "thesis-resnet" });
    const meta = await sharp(png).metadata();
    assert.equal(meta.format, "png");
    assert.ok(meta.width! > 500 && meta.height! > 500);
    assert.ok((await Deno.readTextFile(join(dir, "resnet.svg"))).startsWith("<svg"));
  } finally {
    await Deno.remove(dir, { recursive: true });
    resnet.dispose();
  }
});

Deno.test("portraitFigures: the portrait, its Haar boxes, and boxes with keypoints per model", async () => {
  const files = listPortraits(new URL("../data/portraits", import.meta.url).pathname);
  assert.ok(files.length >= 1 && files.every((f) => /\.(png|jpe?g)$/i.test(f)));
  // A stand-in model: every keypoint at the crop's centre.
  const centre: KeypointPredictor = {
    name: "centre",
    predict: (_images, n) => Promise.resolve(new Float32Array(n * 30).fill(47.5)),
  };
  const detector = await createFaceDetector();
  const dir = await Deno.makeTempDir({ prefix: "portraits_test_" });
  try {
    const astronaut = files.filter((f) => f.endsWith("astronaut.png"));
    const [shown] = await portraitFigures(astronaut, detector, [centre], join(dir, "05"));
    assert.equal(shown.faces, 1);
    assert.deepEqual(shown.files.map((f) => f.slice(dir.length + 1)), [
      "05_portrait_astronaut.png",
      "05_portrait_astronaut_haar_boxes.png",
      "05_portrait_astronaut_keypoints_centre.png",
    ]);
    const [plain, boxes, points] = await Promise.all(shown.files.map((f) => sharp(f).raw().toBuffer()));
    assert.equal(plain.length, boxes.length);
    assert.ok(!plain.equals(boxes), "the box is drawn");
    assert.ok(!boxes.equals(points), "the keypoints are drawn");
  } finally {
    detector.close();
    await Deno.remove(dir, { recursive: true });
  }
  assert.throws(() => listPortraits("/nonexistent/portraits"), /no such portrait folder/);
});

Deno.test("architectureFigure: the notebook's diagram file under the notebook's prefix, shown as PNG", async () => {
  const dir = await Deno.makeTempDir({ prefix: "arch_figure_test_" });
  try {
    const nb = new NotebookSession("03", true, { spec: "synthetic:20", reason: "test" }, ds, dir);
    const shown = await architectureFigure(nb, "lenet");
    const bundle = (shown as unknown as Record<symbol, () => Record<string, string>>)
      [Symbol.for("Jupyter.display")]();
    assert.ok(bundle["image/png"].length > 1000);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "03_lenet_architecture.png",
      "03_lenet_architecture.svg",
    ]);
    assert.match(
      await Deno.readTextFile(join(dir, "03_lenet_architecture.svg")),
      /lenet: 6,508,202 parameters/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
