// Faces in the wild: several datasets as one, the Wing/L1 losses, the cosine schedule, occlusion, framing,
// refinement and the cascade chain.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { AUGMENTATIONS, occlusion, wildAugmentation } from "../lib/augment/augment.ts";
import { cropBoxForDetection, fromCropCoords, squareBoxAround } from "../lib/data/crop.ts";
import { concatDatasets } from "../lib/data/dataset.ts";
import { PIXELS } from "../lib/core/constants.ts";
import { _photoOf, landmarks68ToKaggle15 } from "../lib/data/landmarks68_io.ts";
import { loadDataset, parseDatasetSpec } from "../lib/data/spec_io.ts";
import { syntheticDataset } from "../lib/data/synthetic.ts";
import { metricsByPart } from "../lib/evaluate/metrics.ts";
import {
  _dropOverlapping,
  createCascadeDetector,
  extendEdges,
  mirrorGray,
  rotateGray,
} from "../lib/face/cascades_io.ts";
import {
  cropBoxFromKeypoints,
  framingOf,
  keypointsInsideCrop,
  plausibleRefinement,
  quantiles,
} from "../lib/face/framing.ts";
import { readGray } from "../lib/core/image_io.ts";
import type { KeypointPredictor } from "../lib/models/types.ts";
import { predictFaces } from "../lib/face/predict_io.ts";
import { Rng } from "../lib/core/rng.ts";
import { cosineLr, splitLikeTraining } from "../lib/train/train_io.ts";
import { landmarkLoss, trainStep, WING } from "../lib/train/train_step.ts";
import { UsageError } from "../lib/core/errors.ts";

await tf.setBackend("cpu");

const near = (a: number, b: number, tol: number, what = "") =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} is not within ${tol} of ${b}`);

Deno.test("_photoOf: the faces of one HELEN/AFW photo share a group, LFPW's numbered images do not", () => {
  assert.equal(_photoOf("111076519_2"), "111076519");
  assert.equal(_photoOf("2070105355_1"), "2070105355");
  assert.equal(_photoOf("image_0001"), "image_0001");
  assert.equal(_photoOf("face"), "face");
});

Deno.test("concatDatasets: parts in order, groups prefixed by part so two sources never share one", () => {
  const a = { ...syntheticDataset({ n: 3, seed: 1 }), groups: ["p", "p", "q"] };
  const b = { ...syntheticDataset({ n: 2, seed: 2 }), groups: ["p", "r"] };
  const ds = concatDatasets([{ label: "a", ds: a }, { label: "b", ds: b }]);
  assert.equal(ds.n, 5);
  assert.deepEqual(ds.parts, ["a", "a", "a", "b", "b"]);
  assert.deepEqual(ds.groups, ["a/p", "a/p", "a/q", "b/p", "b/r"]);
  assert.deepEqual([...ds.images.subarray(3 * PIXELS, 3 * PIXELS + 5)], [...b.images.subarray(0, 5)]);
  assert.deepEqual([...ds.keypoints.subarray(3 * 30, 3 * 30 + 30)], [...b.keypoints.subarray(0, 30)]);
});

Deno.test("dataset names: A+B loads both, labelled per part; an empty part is refused", async () => {
  const spec = parseDatasetSpec("synthetic:4+synthetic:3:7");
  assert.equal(spec.kind, "combined");
  const ds = await loadDataset(spec);
  assert.equal(ds.n, 7);
  assert.deepEqual(ds.parts, [
    "synthetic",
    "synthetic",
    "synthetic",
    "synthetic",
    "synthetic~2",
    "synthetic~2",
    "synthetic~2",
  ]);
  assert.throws(() => parseDatasetSpec("synthetic:4+"), UsageError);
});

Deno.test("dataset names: a folder of 300-W folders is one part per subfolder", async () => {
  const root = await Deno.makeTempDir();
  try {
    const pts = [
      "version: 1",
      "n_points: 68",
      "{",
      ...Array.from({ length: 68 }, (_, i) => `${20 + i % 17} ${20 + Math.floor(i / 4)}`),
      "}",
    ].join("\n");
    const png = new Uint8Array(
      await sharp({ create: { width: 64, height: 64, channels: 3, background: "#808080" } }).png().toBuffer(),
    );
    for (const sub of ["afw", "helen"]) {
      await Deno.mkdir(`${root}/${sub}`);
      await Deno.writeTextFile(`${root}/${sub}/123_1.pts`, pts);
      await Deno.writeFile(`${root}/${sub}/123_1.png`, png);
    }
    const ds = await loadDataset(root);
    assert.deepEqual(ds.parts, ["afw", "helen"]);
    assert.deepEqual(ds.groups, ["afw/123", "helen/123"]);

    // The crop cache: a second load comes from it, equal; an edited landmark file is read again.
    const cacheDir = `${root}/cache`;
    const first = await loadDataset(root, { cacheDir });
    const entries = () => Array.from(Deno.readDirSync(cacheDir)).length;
    assert.equal(entries(), 4); // two parts, a .json and a .f32 each
    const again = await loadDataset(root, { cacheDir });
    assert.equal(entries(), 4);
    assert.deepEqual([...again.images], [...first.images]);
    assert.deepEqual([...again.keypoints], [...first.keypoints]);
    assert.deepEqual(again.sources, first.sources);
    await Deno.writeTextFile(`${root}/helen/123_1.pts`, pts.replace("20 20", "21 20"));
    const edited = await loadDataset(root, { cacheDir });
    assert.equal(entries(), 6);
    assert.equal(edited.sources![1].landmarks68![0], 20); // 21 in the file, 1-based
    assert.equal(first.sources![1].landmarks68![0], 19);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("landmarkLoss: Wing is logarithmic below w px and linear above, continuous at w; L1 in px", () => {
  const { w, epsilon } = WING;
  const value = (name: "wing" | "l1" | "mse", px: number) =>
    landmarkLoss(name, tf.tensor2d([[px / 48]]), tf.tensor2d([[0]]), tf.tensor2d([[1]]), 1).dataSync()[0];
  near(value("wing", 1), w * Math.log(1 + 1 / epsilon), 1e-4, "wing(1 px)");
  near(value("wing", w), w * Math.log(1 + w / epsilon), 1e-3, "wing(w)");
  near(value("wing", 25), 25 - (w - w * Math.log(1 + w / epsilon)), 1e-3, "wing(25 px)");
  near(value("l1", -3), 3, 1e-5, "l1");
  near(value("mse", 24), 0.25, 1e-6, "mse in normalised units");
  // Masked coordinates do not count, and the sum is divided by the given count.
  const masked = landmarkLoss("l1", tf.tensor2d([[0.5, 9]]), tf.tensor2d([[0, 0]]), tf.tensor2d([[1, 0]]), 2);
  near(masked.dataSync()[0], 12, 1e-4, "masked l1");
});

Deno.test("landmarkLoss: Wing has a gradient everywhere (no `where` on the tape)", () => {
  const g = tf.grad((p: tf.Tensor) => landmarkLoss("wing", p, tf.zeros([1, 3]), tf.ones([1, 3]), 1))(
    tf.tensor2d([[0.01, -0.1, 0.5]]),
  ).dataSync();
  assert.ok(g.every((v) => Number.isFinite(v) && v !== 0), `gradient ${[...g]}`);
  assert.ok(g[1] < 0 && g[0] > 0, "the gradient pushes the prediction towards the target");
});

Deno.test("trainStep minimises the loss it is given, with or without a report", () => {
  const x = tf.randomUniform([4, 96, 96, 1], 0, 1, "float32", 3) as tf.Tensor4D;
  const y = tf.randomUniform([4, 30], -1, 1, "float32", 4) as tf.Tensor2D;
  const mask = tf.onesLike(y) as tf.Tensor2D;
  for (const loss of ["wing", "l1", "mse"] as const) {
    const model = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [96, 96, 1] }), tf.layers.dense({ units: 30 })],
    });
    const expected = landmarkLoss(loss, model.predict(x) as tf.Tensor, y, mask, 120).dataSync()[0];
    const got = trainStep(model, tf.train.sgd(0), { x, y, mask }, { loss }); // no report asked for
    near(got, expected, 1e-4 * Math.max(1, expected), loss);
    const report = { mse: NaN };
    trainStep(model, tf.train.sgd(0), { x, y, mask }, { loss, report });
    near(
      report.mse,
      landmarkLoss("mse", model.predict(x) as tf.Tensor, y, mask, 120).dataSync()[0],
      1e-5,
      "mse",
    );
    model.dispose();
  }
});

Deno.test("cosineLr: lr at the first epoch, falling monotonically to minLr after the last", () => {
  const cfg = { lr: 2e-3, minLr: 1e-5, epochs: 10 };
  assert.equal(cosineLr(cfg, 1), 2e-3);
  let prev = Infinity;
  for (let e = 1; e <= 11; e++) {
    const lr = cosineLr(cfg, e);
    assert.ok(lr < prev || e === 1);
    prev = lr;
  }
  near(cosineLr(cfg, 11), 1e-5, 1e-12);
});

Deno.test("occlusion: fills one rectangle with one value and leaves the keypoints alone", () => {
  const t = occlusion({ p: 1, size: [0.2, 0.2] });
  const image = new Float32Array(PIXELS).fill(0.5);
  const params = t.draw(new Rng(3));
  t.applyImage(image, params);
  const side = Math.round(0.2 * 96);
  assert.notEqual(params.value, 0.5);
  assert.equal(image.filter((v) => v === Math.fround(params.value)).length, side * side);
  assert.equal(image.filter((v) => v === 0.5).length, 96 * 96 - side * side);
  assert.throws(() => occlusion({ size: [0.2, 1.5] }), UsageError);
  // The composed wild pipeline keeps every output in [0, 1] and NaN keypoints NaN.
  const face = syntheticDataset({ n: 1, seed: 4 });
  const out = wildAugmentation().apply(face.images.slice(0, PIXELS), face.keypoints.slice(0, 30), new Rng(1));
  assert.ok(out.image.every((v: number) => v >= 0 && v <= 1));
  face.keypoints.slice(0, 30).forEach((v, i) => Number.isNaN(v) && assert.ok(Number.isNaN(out.keypoints[i])));
});

Deno.test("augmentations: wild-no-framing is wild without its scale and shift, nothing else", () => {
  const names = (name: keyof typeof AUGMENTATIONS) =>
    (AUGMENTATIONS[name]() as unknown as { transforms: { name: string }[] }).transforms.map((t) => t.name);
  const wild = names("wild");
  assert.ok(wild.includes("scale") && wild.includes("shift"));
  assert.deepEqual(names("wild-no-framing"), wild.filter((n) => n !== "scale" && n !== "shift"));
});

Deno.test("framing: a crop's scale and centre shift against a reference; percentiles", () => {
  const f = framingOf({ x: 10, y: 0, size: 110 }, { x: 0, y: 0, size: 100 });
  near(f.scale, 1.1, 1e-12);
  near(f.dx, 0.15, 1e-12);
  near(f.dy, 0.05, 1e-12);
  assert.deepEqual(quantiles([4, 1, 3, 2, 5]), { p5: 1.2, p25: 2, p50: 3, p75: 4, p95: 4.8 });
  assert.ok(Number.isNaN(quantiles([]).p50));
});

Deno.test("cropBoxFromKeypoints: from the 15 true keypoints, close to the training crop of the 68", () => {
  // A frontal 68-point face (the mean shape of ytf68 would do; this one is the iBUG layout drawn to scale).
  const l68 = new Float32Array(136);
  for (let i = 0; i < 17; i++) {
    [l68[2 * i], l68[2 * i + 1]] = [100 + 6.25 * i, 120 + 40 * Math.sin(Math.PI * i / 16)];
  }
  const set = (i: number, x: number, y: number) => ([l68[2 * i], l68[2 * i + 1]] = [x, y]);
  for (let i = 17; i < 27; i++) set(i, 105 + (i - 17) * 10, 95);
  for (let i = 27; i < 36; i++) set(i, 150, 110 + (i - 27) * 3);
  for (let i = 36; i < 48; i++) set(i, i < 42 ? 115 + (i - 36) * 4 : 160 + (i - 42) * 4, 108);
  for (let i = 48; i < 68; i++) set(i, 132 + ((i - 48) % 12) * 3, 150 + (i % 2) * 4);
  const truth = squareBoxAround(l68);
  const box = cropBoxFromKeypoints(landmarks68ToKaggle15(l68));
  const f = framingOf(box, truth);
  assert.ok(Math.abs(f.scale - 1) < 0.2 && Math.abs(f.dx) < 0.05 && Math.abs(f.dy) < 0.1, JSON.stringify(f));
  assert.throws(() => cropBoxFromKeypoints([NaN, NaN]), UsageError);
});

/** A predictor that always answers the same 96×96 keypoints, counting its calls. */
function constantPredictor(points: number[]): KeypointPredictor & { calls: number } {
  const p = {
    name: "constant",
    calls: 0,
    predict(_images: Float32Array, n: number) {
      p.calls++;
      const out = new Float32Array(n * 30);
      for (let i = 0; i < n; i++) out.set(points, i * 30);
      return Promise.resolve(out);
    },
  };
  return p;
}

Deno.test("predictFaces: refine re-crops around the previous prediction and predicts again", async () => {
  const gray = { width: 300, height: 300, data: new Uint8Array(300 * 300).fill(90) };
  // Keypoints spread over the middle of the crop.
  const points = Array.from({ length: 30 }, (_, i) => (i % 2 ? 30 : 25) + (i % 7) * 6);
  const box = { x: 100, y: 100, width: 80, height: 80 };
  const once = constantPredictor(points), twice = constantPredictor(points);
  const [a] = await predictFaces(gray, [box], once, { refine: 0 });
  const [b] = await predictFaces(gray, [box], twice, { refine: 2 });
  assert.equal(once.calls, 1);
  assert.equal(twice.calls, 3);
  // The second crop is framed from the first answer, so a constant answer lands somewhere else.
  assert.notDeepEqual(a.keypoints.nose_tip, b.keypoints.nose_tip);
  await assert.rejects(() => predictFaces(gray, [box], once, { refine: 9 }), UsageError);
});

Deno.test("predictFaces: flip averages with the mirrored crop's prediction", async () => {
  const gray = { width: 200, height: 200, data: new Uint8Array(200 * 200).fill(50) };
  const points = Array.from({ length: 30 }, (_, i) => (i % 2 ? 40 : 20));
  const pred = constantPredictor(points);
  const [face] = await predictFaces(gray, [{ x: 50, y: 50, width: 90, height: 90 }], pred, { flip: true });
  assert.equal(pred.calls, 2);
  // Every x is 20, so each keypoint's mirror is 95 − 20 = 75: the average is the crop's centre column 47.5,
  // and y stays 40; both mapped back through the crop the detector's box gave.
  const crop = cropBoxForDetection({ x: 50, y: 50, width: 90, height: 90 });
  for (const [name, [x, y]] of Object.entries(face.keypoints)) {
    const [ex, ey] = fromCropCoords(47.5, 40, crop);
    near(x, ex, 1e-9, `${name} x`);
    near(y, ey, 1e-9, `${name} y`);
  }
});

Deno.test("cascade chain: the astronaut by the default cascade; mirrorGray mirrors", async () => {
  const detector = await createCascadeDetector();
  try {
    const faces = detector.detect(await readGray("data/portraits/astronaut.png"));
    assert.equal(faces.length, 1);
    assert.equal(faces[0].cascade, "default");
    assert.equal(faces[0].mirrored, false);
  } finally {
    detector.close();
  }
  const g = { width: 3, height: 2, data: new Uint8Array([1, 2, 3, 4, 5, 6]) };
  assert.deepEqual([...mirrorGray(g).data], [3, 2, 1, 6, 5, 4]);
  await assert.rejects(() => createCascadeDetector({ cascades: ["nope" as "alt2"] }), UsageError);
});

Deno.test("cascade chain: a face the frame cuts off is found at last on the photo with its edges extended", async () => {
  const astronaut = await readGray("data/portraits/astronaut.png");
  // The astronaut without its top 80 rows: the forehead is outside the frame (the full photo's box is
  // x 177, y 65, side 96, so on the cut photo y −15).
  const top = 80,
    cut = { width: astronaut.width, height: astronaut.height - top, data: astronaut.data.slice(top * 512) };
  const plain = await createCascadeDetector({ cascades: ["default"], rotations: [], edgePad: 0 });
  const extended = await createCascadeDetector({ cascades: ["default"], rotations: [] });
  try {
    assert.equal(plain.detect(cut).length, 0, "without the extension the cut face should be missed");
    const [face] = extended.detect(cut);
    assert.ok(face, "the extended photo should give the face");
    near(face.x, 177, 6, "x");
    near(face.y, 65 - top, 6, "y (above the frame)");
    near(face.width, 96, 8, "side");
  } finally {
    plain.close();
    extended.close();
  }
  const g = { width: 2, height: 2, data: new Uint8Array([1, 2, 3, 4]) };
  assert.deepEqual([...extendEdges(g, 1).data], [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  await assert.rejects(() => createCascadeDetector({ edgePad: -0.1 }), UsageError);
});

Deno.test("cascade chain: a face turned 30° is missed upright and found by the turned retry", async () => {
  const astronaut = await readGray("data/portraits/astronaut.png");
  const tilted = rotateGray(astronaut, 30);
  const upright = await createCascadeDetector({ cascades: ["default"], rotations: [] });
  const turned = await createCascadeDetector({ cascades: ["default"], rotations: [-25, 25] });
  try {
    assert.equal(upright.detect(tilted).length, 0, "the frontal cascade should miss a face turned 30°");
    const [face] = turned.detect(tilted);
    assert.ok(face, "the turned retry should find it");
    // The astronaut's face centre, [225, 113], turned by 30° about the centre lands near the box's centre.
    const t = Math.PI / 6, c = 255.5, x = 225 - c, y = 113 - c;
    const ex = c + Math.cos(t) * x + Math.sin(t) * y, ey = c - Math.sin(t) * x + Math.cos(t) * y;
    const cx = face.x + face.width / 2, cy = face.y + face.height / 2;
    assert.ok(
      Math.hypot(cx - ex, cy - ey) < 0.3 * face.width,
      `box centre ${cx},${cy}; expected ${ex},${ey}`,
    );
    // The same photo 4× larger (over MAX_DETECT_SIDE): the retry runs on the reduced copy, boxes scale back.
    const big = { width: 2048, height: 2048, data: new Uint8Array(2048 * 2048) };
    for (let y = 0; y < 2048; y++) {
      for (let x = 0; x < 2048; x++) big.data[y * 2048 + x] = tilted.data[(y >> 2) * 512 + (x >> 2)];
    }
    const [large] = turned.detect(big);
    assert.ok(large, "the turned retry should find the face in the big photo");
    const lx = large.x + large.width / 2, ly = large.y + large.height / 2;
    assert.ok(Math.hypot(lx - 4 * ex, ly - 4 * ey) < 0.3 * large.width, `big box centre ${lx},${ly}`);
  } finally {
    upright.close();
    turned.close();
  }
  // Turning is its own inverse up to rounding: a bright pixel comes back where it was.
  const dot = { width: 21, height: 21, data: new Uint8Array(21 * 21) };
  dot.data[5 * 21 + 14] = 255;
  const back = rotateGray(rotateGray(dot, 40), -40);
  assert.equal(back.data[5 * 21 + 14], 255);
});

Deno.test("metricsByPart and splitLikeTraining", async () => {
  const ds = await loadDataset("synthetic:30+synthetic:20:5");
  const parts = metricsByPart(ds.keypoints, ds)!;
  assert.deepEqual(Object.keys(parts), ["synthetic", "synthetic~2"]);
  assert.equal(parts["synthetic~2"].n, 20);
  assert.equal(parts.synthetic.rmse_px, 0);
  const meta = { training: { config: { validation: 0.2, seed: 0 }, data: { train: 1, validation: 1 } } };
  assert.throws(() => splitLikeTraining(ds, meta, "validation"), /splits into/);
  const val = splitLikeTraining(ds, { training: { config: { validation: 0.2, seed: 0 } } }, "validation");
  assert.ok(val.n > 0 && val.n < ds.n);
  assert.throws(() => splitLikeTraining(ds, {}, "validation"), UsageError);
});

Deno.test("plausibleRefinement, keypointsInsideCrop: a jump, a collapse or points off the crop are refused", () => {
  const last = { x: 100, y: 100, size: 100 };
  assert.ok(plausibleRefinement({ x: 110, y: 95, size: 120 }, last));
  assert.ok(!plausibleRefinement({ x: 100, y: 100, size: 40 }, last)); // collapsed
  assert.ok(!plausibleRefinement({ x: 100, y: 100, size: 210 }, last)); // exploded
  assert.ok(!plausibleRefinement({ x: 160, y: 150, size: 100 }, last)); // centre moved 78 px > 50
  assert.ok(keypointsInsideCrop([105, 105, 195, 195, NaN, NaN], last));
  assert.ok(keypointsInsideCrop([92, 208], last)); // within 10 % of the side
  assert.ok(!keypointsInsideCrop([150, 150, 150, 260], last));
});

Deno.test("predictFaces: a refined prediction off its own crop keeps the previous one and ends that face's rounds", async () => {
  const gray = { width: 300, height: 300, data: new Uint8Array(300 * 300).fill(90) };
  const good = Array.from({ length: 30 }, (_, i) => (i % 2 ? 30 : 25) + (i % 7) * 6);
  let calls = 0;
  const wild: KeypointPredictor = {
    name: "wild second answer",
    predict(_images: Float32Array, n: number) {
      // The first call answers a face; the refinement's answer lies far outside the 96×96 crop.
      const points = calls++ === 0 ? good : good.map((v) => v * 8);
      const out = new Float32Array(n * 30);
      for (let i = 0; i < n; i++) out.set(points, i * 30);
      return Promise.resolve(out);
    },
  };
  const box = { x: 100, y: 100, width: 80, height: 80 };
  const [once] = await predictFaces(gray, [box], constantPredictor(good), { refine: 0 });
  // Two rounds asked: the refused face leaves after the first instead of repeating the refused prediction.
  const [refined] = await predictFaces(gray, [box], wild, { refine: 2 });
  assert.equal(calls, 2);
  assert.deepEqual(refined.keypoints, once.keypoints);
});

Deno.test("cascade chain: of one face found at two scales the smaller box stays; faces come largest first", () => {
  const big = { x: 90, y: 90, width: 120, height: 120 }, small = { x: 100, y: 100, width: 100, height: 100 };
  const other = { x: 300, y: 50, width: 60, height: 60 };
  assert.deepEqual(_dropOverlapping([big, other, small]), [small, other]);
  assert.deepEqual(_dropOverlapping([other, big]), [big, other]);
});
