import { assertAlmostEquals, assertEquals } from "./_assert.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { IMAGE_SIZE, KEYPOINT_NAMES, NUM_COORDS } from "../lib/core/constants.ts";
import { fromCropCoords, squareBoxAround } from "../lib/data/crop.ts";
import { type CropBox } from "../lib/core/box.ts";
import { landmarks68ToKaggle15 } from "../lib/data/landmarks68_io.ts";
import { type FaceDetector } from "../lib/face/detect.ts";
import { type Box } from "../lib/core/box.ts";
import { type RawImage } from "../lib/core/image.ts";
import { createFaceDetector } from "../lib/face/detect_io.ts";
import {
  type EndToEndImage,
  evaluateEndToEnd,
  faceNme,
  matchDetection,
} from "../lib/evaluate/end_to_end_io.ts";
import { DataError, UsageError } from "../lib/core/errors.ts";
import { readGray, readRgb, writeGrayPng } from "../lib/core/image_io.ts";
import type { KeypointPredictor } from "../lib/models/types.ts";
import { makeMetadata, saveKeypointModel } from "../lib/models/mod.ts";
import {
  annotateResult,
  predictFaces,
  predictImageFile,
  type PredictionResult,
} from "../lib/face/predict_io.ts";
import { cropBoxForDetection } from "../lib/data/crop.ts";
import { ANNOTATION_COLOURS } from "../lib/viz/annotate.ts";

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;
const hasError = (cls: ErrorClass, text: string) => (e: unknown) =>
  e instanceof cls && e.message.includes(text);

const PORTRAITS = new URL("../data/portraits/", import.meta.url).pathname;
const ASTRONAUT = `${PORTRAITS}astronaut.png`;
const YTF68 = new URL("../../shared/data/ytf68/", import.meta.url).pathname;
const HAVE_YTF68 = (() => {
  try {
    return Deno.statSync(`${YTF68}test_frames_keypoints.csv`).isFile;
  } catch {
    return false;
  }
})();

/** A detector that always reports the same boxes. */
function fixedDetector(boxes: Box[]): FaceDetector {
  return {
    options: { cascadePath: "", scaleFactor: 1.1, minNeighbors: 5, minSize: 30, maxSize: 0 },
    detect: () => boxes.map((b) => ({ ...b })),
    close() {},
  };
}

/** A predictor that returns the same 96×96 point for every keypoint of every face, and counts calls. */
function constantPredictor(u: number, v: number): KeypointPredictor & { calls: number } {
  return {
    name: "constant",
    calls: 0,
    predict(images: Float32Array, n: number) {
      this.calls++;
      assertEquals(images.length, n * IMAGE_SIZE * IMAGE_SIZE);
      const out = new Float32Array(n * NUM_COORDS);
      for (let i = 0; i < out.length; i += 2) out[i] = u, out[i + 1] = v;
      return Promise.resolve(out);
    },
  };
}

/**
 * A predictor that "finds" the one bright blob in each 96×96 face: every keypoint is the
 * intensity-weighted centroid of the pixels (pixel centres at integers), so it follows the image.
 */
const centroidPredictor: KeypointPredictor = {
  name: "centroid",
  predict(images: Float32Array, n: number) {
    const out = new Float32Array(n * NUM_COORDS);
    for (let i = 0; i < n; i++) {
      let s = 0, sx = 0, sy = 0;
      for (let v = 0; v < IMAGE_SIZE; v++) {
        for (let u = 0; u < IMAGE_SIZE; u++) {
          const p = images[i * IMAGE_SIZE * IMAGE_SIZE + v * IMAGE_SIZE + u];
          s += p, sx += p * u, sy += p * v;
        }
      }
      for (let k = 0; k < NUM_COORDS; k += 2) {
        out[i * NUM_COORDS + k] = sx / s, out[i * NUM_COORDS + k + 1] = sy / s;
      }
    }
    return Promise.resolve(out);
  },
};

/** A black image with one Gaussian blob (sigma in pixels) centred at (cx, cy), pixel centres at integers. */
function blobImage(width: number, height: number, cx: number, cy: number, sigma: number): RawImage {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data[y * width + x] = Math.round(255 * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma ** 2)));
    }
  }
  return { data, width, height };
}

Deno.test("cropBoxForDetection: frames a Haar box like the training crops", () => {
  assertEquals(cropBoxForDetection({ x: 177, y: 65, width: 96, height: 96 }), { x: 162, y: 66, size: 126 });
  // margin 0: just the estimated landmark box (0.877 × width), centred 0.165 × width below the Haar centre.
  assertEquals(cropBoxForDetection({ x: 100, y: 100, width: 200, height: 200 }, 0), {
    x: 113,
    y: 146,
    size: 175,
  });
  assert.throws(() => cropBoxForDetection({ x: 0, y: 0, width: 50, height: 50 }, -0.1), UsageError);
  assert.throws(() => cropBoxForDetection({ x: 0, y: 0, width: 50, height: 50 }, NaN), UsageError);
});

Deno.test({
  name:
    "cropBoxForDetection: on ytf68 test frames the crop matches squareBoxAround(landmarks) in size and place",
  ignore: !HAVE_YTF68,
  fn: async () => {
    const rows = (await Deno.readTextFile(`${YTF68}test_frames_keypoints.csv`)).trim().split("\n").slice(1);
    const detector = await createFaceDetector();
    const sizeRatios: number[] = [], dx: number[] = [], dy: number[] = [];
    for (const row of rows.filter((_, i) => i % 35 === 0)) {
      const [file, ...values] = row.split(",");
      const landmarks = Float32Array.from(values.map(Number));
      const gray = await readGray(`${YTF68}test/${file}`);
      const match = matchDetection(detector.detect(gray), landmarks);
      if (!match) continue;
      const ours = cropBoxForDetection(match), training = squareBoxAround(landmarks);
      sizeRatios.push(ours.size / training.size);
      dx.push((ours.x - training.x) / training.size);
      dy.push((ours.y - training.y) / training.size);
    }
    detector.close();
    const median = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
    assert(sizeRatios.length >= 15, `only ${sizeRatios.length} faces detected`);
    assertAlmostEquals(median(sizeRatios), 1, 0.06, "median crop size ratio");
    // Single faces scatter (the Haar box is not the landmark box); the framing must not be biased.
    assertAlmostEquals(median(dx), 0, 0.03, "median x offset / crop side");
    assertAlmostEquals(median(dy), 0, 0.03, "median y offset / crop side");
  },
});

Deno.test("predictFaces: a blob pasted at a known place comes back at its original coordinates", async () => {
  // Shrunk (crop 200 px → 96), enlarged (crop 60 px → 96) and partly outside the image (black fill).
  const cases: { box: Box; blob: [number, number] }[] = [
    { box: { x: 120, y: 80, width: 152, height: 152 }, blob: [205.3, 190.8] },
    { box: { x: 300, y: 40, width: 46, height: 46 }, blob: [318.6, 70.2] },
    { box: { x: -30, y: 200, width: 120, height: 120 }, blob: [20.5, 262.25] },
  ];
  for (const { box, blob: [bx, by] } of cases) {
    const crop: CropBox = cropBoxForDetection(box);
    const sigma = crop.size / 20; // about 5 face pixels: resampling keeps its centroid
    const gray = blobImage(400, 330, bx, by, sigma);
    // Through a PNG file and a detector that reports the box, as the command does it.
    const file = await Deno.makeTempFile({ suffix: ".png" });
    await writeGrayPng(file, gray.data, gray.width, gray.height);
    const result = await predictImageFile(file, fixedDetector([box]), centroidPredictor);
    await Deno.remove(file);
    assertEquals([result.width, result.height, result.faces.length], [400, 330, 1]);
    const face = result.faces[0];
    assertEquals(face.box, [box.x, box.y, box.width, box.height]);
    for (const name of KEYPOINT_NAMES) {
      assertAlmostEquals(face.keypoints[name][0], bx, 0.5, `${name} x`);
      assertAlmostEquals(face.keypoints[name][1], by, 0.5, `${name} y`);
    }
  }
});

Deno.test("predictFaces: keypoints map back through the crop box exactly, faces in detector order", async () => {
  const gray = { data: new Uint8Array(500 * 400), width: 500, height: 400 };
  const boxes = [{ x: 50, y: 60, width: 100, height: 100 }, { x: 300, y: 10, width: 40, height: 40 }];
  const predictor = constantPredictor(10.25, 80.5);
  const faces = await predictFaces(gray, boxes, predictor, { margin: 0.4 });
  assertEquals(predictor.calls, 1, "one predictor call for all faces");
  assertEquals(faces.length, 2);
  faces.forEach((f, i) => {
    const c = cropBoxForDetection(boxes[i], 0.4);
    const expected = [(10.25 + 0.5) * c.size / 96 - 0.5 + c.x, (80.5 + 0.5) * c.size / 96 - 0.5 + c.y];
    assertEquals(Object.keys(f.keypoints), [...KEYPOINT_NAMES]);
    assertAlmostEquals(f.keypoints.nose_tip[0], expected[0], 1e-9);
    assertAlmostEquals(f.keypoints.nose_tip[1], expected[1], 1e-9);
  });
  assertEquals(await predictFaces(gray, [], predictor), []);
  assertEquals(predictor.calls, 1, "no call without faces");
  const broken: KeypointPredictor = { name: "broken", predict: () => Promise.resolve(new Float32Array(3)) };
  await assert.rejects(() => predictFaces(gray, boxes, broken), hasError(Error, "returned 3 numbers"));
});

Deno.test("predictImageFile: the astronaut's face with the real detector; other channel counts give the same", async () => {
  const detector = await createFaceDetector();
  const predictor = constantPredictor(48, 48);
  const result = await predictImageFile(ASTRONAUT, detector, predictor);
  assertEquals([result.file, result.width, result.height, result.faces.length], [ASTRONAUT, 512, 512, 1]);
  const box = result.faces[0].box;
  assert(Math.abs(box[0] - 177) <= 6 && Math.abs(box[1] - 65) <= 6, JSON.stringify(box));
  const c = cropBoxForDetection({ x: box[0], y: box[1], width: box[2], height: box[3] });
  assertEquals(result.faces[0].keypoints.left_eye_center, fromCropCoords(48, 48, c));

  const dir = await Deno.makeTempDir();
  for (
    const [name, pipeline] of [
      ["rgba.png", sharp(ASTRONAUT).ensureAlpha()],
      ["gray.jpg", sharp(ASTRONAUT).grayscale().jpeg({ quality: 95 })],
      ["gray_alpha.png", sharp(ASTRONAUT).grayscale().ensureAlpha()],
    ] as const
  ) {
    await pipeline.toFile(join(dir, name));
    const other = await predictImageFile(join(dir, name), detector, predictor);
    assertEquals(other.faces.length, 1, name);
    other.faces[0].box.forEach((v, i) => assertAlmostEquals(v, box[i], 3, `${name} box[${i}]`));
  }
  await Deno.remove(dir, { recursive: true });
  detector.close();
});

Deno.test("predictImageFile: corrupt, non-image and missing files raise DataError naming the file; no face gives []", async () => {
  const dir = await Deno.makeTempDir();
  const corrupt = join(dir, "corrupt.jpg"), text = join(dir, "notes.txt"), blank = join(dir, "blank.png");
  await Deno.writeFile(corrupt, (await Deno.readFile(`${PORTRAITS}grace_hopper.jpg`)).subarray(0, 3000));
  await Deno.writeTextFile(text, "not an image\n");
  await writeGrayPng(blank, new Uint8Array(200 * 150).fill(90), 200, 150);
  const detector = await createFaceDetector();
  const predictor = constantPredictor(48, 48);
  for (const file of [corrupt, text, join(dir, "missing.png")]) {
    await assert.rejects(() => predictImageFile(file, detector, predictor), hasError(DataError, file));
  }
  assertEquals(await predictImageFile(blank, detector, predictor), {
    file: blank,
    width: 200,
    height: 150,
    faces: [],
  });
  assertEquals(predictor.calls, 0);
  detector.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("annotateResult: writes a PNG of the photo's size with left and right points in their colours", async () => {
  const dir = await Deno.makeTempDir();
  const out = join(dir, "sub", "astronaut.png");
  const result: PredictionResult = {
    file: ASTRONAUT,
    width: 512,
    height: 512,
    faces: [{
      box: [177, 65, 96, 96],
      keypoints: Object.fromEntries(KEYPOINT_NAMES.map((n) => [n, [225, 120]])) as PredictionResult[
        "faces"
      ][0]["keypoints"],
    }],
  };
  result.faces[0].keypoints.left_eye_center = [245, 100];
  result.faces[0].keypoints.right_eye_center = [205, 100];
  await annotateResult(result, out, { labels: true });
  const png = await readRgb(out);
  assertEquals([png.width, png.height], [512, 512]);
  const pixel = (x: number, y: number) =>
    Array.from(png.data.subarray((y * 512 + x) * 3, (y * 512 + x) * 3 + 3));
  const hex = (c: string) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
  pixel(245, 100).forEach((v, i) => assertAlmostEquals(v, hex(ANNOTATION_COLOURS.left)[i], 8, "left point"));
  pixel(205, 100).forEach((v, i) =>
    assertAlmostEquals(v, hex(ANNOTATION_COLOURS.right)[i], 8, "right point")
  );
  pixel(177, 120).forEach((v, i) => assertAlmostEquals(v, hex(ANNOTATION_COLOURS.box)[i], 40, "box edge"));
  assertEquals([...Deno.readDirSync(join(dir, "sub"))].map((e) => e.name), ["astronaut.png"], "no .tmp left");
  await Deno.remove(dir, { recursive: true });
});

/** 68 landmarks on an ellipse around (cx, cy); 36 and 45 at the ends of the eye line. */
function fakeLandmarks(cx: number, cy: number, r: number): Float32Array {
  const l = new Float32Array(136);
  for (let i = 0; i < 68; i++) {
    l[2 * i] = cx + r * Math.cos(i * 0.37);
    l[2 * i + 1] = cy + 1.2 * r * Math.sin(i * 0.37);
  }
  l.set([cx - 0.6 * r, cy - 0.3 * r], 72);
  l.set([cx + 0.6 * r, cy - 0.3 * r], 90);
  return l;
}

Deno.test("faceNme and matchDetection", () => {
  const l = fakeLandmarks(200, 150, 50);
  const truth = landmarks68ToKaggle15(l);
  const exact = Object.fromEntries(
    KEYPOINT_NAMES.map((n, k) => [n, [truth[2 * k], truth[2 * k + 1]] as const]),
  );
  assertAlmostEquals(faceNme(exact, l), 0, 1e-6);
  const shifted = Object.fromEntries(
    KEYPOINT_NAMES.map((n, k) => [n, [truth[2 * k] + 3, truth[2 * k + 1] + 4] as const]),
  );
  assertAlmostEquals(faceNme(shifted, l), 5 / 60, 1e-5, "5 px over a 60 px eye-corner distance");

  const inside = { x: 140, y: 80, width: 120, height: 120 };
  const bigger = { x: 60, y: 20, width: 280, height: 280 };
  const elsewhere = { x: 400, y: 150, width: 100, height: 100 };
  assertEquals(
    matchDetection([elsewhere, bigger, inside], l),
    inside,
    "largest IoU among boxes over the centre",
  );
  assertEquals(matchDetection([elsewhere], l), null);
  assertEquals(matchDetection([], l), null);
});

Deno.test("evaluateEndToEnd: counts detections, averages NME over them, and fails misses", async () => {
  const detector = await createFaceDetector();
  const found = fakeLandmarks(225, 113, 40); // on the astronaut's face
  const missed = fakeLandmarks(250, 250, 60); // camera.png: no face is detected
  const source = (file: string, landmarks68: Float32Array) => ({
    file,
    width: 512,
    height: 512,
    box: { x: 0, y: 0, size: 1 },
    landmarks68,
  });
  const ds = {
    name: "two photos",
    n: 2,
    sources: [source(ASTRONAUT, found), source(`${PORTRAITS}camera.png`, missed)],
  };
  const perImage: EndToEndImage[] = [];
  const report = await evaluateEndToEnd(detector, constantPredictor(48, 48), ds, { perImage });
  const box = perImage[0].box as number[];
  const c = cropBoxForDetection({ x: box[0], y: box[1], width: box[2], height: box[3] });
  const p = fromCropCoords(48, 48, c);
  const expected = faceNme(Object.fromEntries(KEYPOINT_NAMES.map((n) => [n, p])), found);
  assertEquals([report.n, report.detected], [2, 1]);
  assertAlmostEquals(report.nme, expected, 1e-9);
  assertEquals(report.failure_rate_10, expected > 0.1 ? 1 : 0.5);
  assertEquals(perImage[1].box, null);
  assert(Number.isNaN(perImage[1].nme));

  await assert.rejects(
    () => evaluateEndToEnd(detector, constantPredictor(48, 48), { name: "crops only", n: 1 }),
    hasError(UsageError, "68 landmarks"),
  );
  detector.close();
});

/** Saves a model whose output is all zeros (every keypoint at the face's (48, 48)) in `dir`. */
async function saveConstantModel(dir: string): Promise<void> {
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1] }),
      tf.layers.dense({ units: NUM_COORDS, kernelInitializer: "zeros", biasInitializer: "zeros" }),
    ],
  });
  await saveKeypointModel(dir, model, makeMetadata("lenet", model));
  model.dispose();
}

async function runPredict(args: string[]): Promise<{ code: number; lines: string[]; stderr: string }> {
  const cli = new URL("../cli/predict.ts", import.meta.url).pathname;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, "--backend", "cpu", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(stdout).split("\n").filter((l) => l.trim() !== "");
  return { code, lines, stderr: new TextDecoder().decode(stderr) };
}

Deno.test("deno task predict --json: one line per file, errors as lines, exit status 1 at the end", async () => {
  const dir = await Deno.makeTempDir();
  const model = join(dir, "model"), out = join(dir, "out"), inputs = join(dir, "in");
  await saveConstantModel(model);
  await Deno.mkdir(inputs);
  const corrupt = join(dir, "corrupt.jpg"), text = join(dir, "notes.txt"), blank = join(inputs, "blank.png");
  await Deno.writeFile(corrupt, (await Deno.readFile(`${PORTRAITS}grace_hopper.jpg`)).subarray(0, 3000));
  await Deno.writeTextFile(text, "not an image\n");
  await writeGrayPng(blank, new Uint8Array(120 * 90).fill(90), 120, 90);
  await Deno.copyFile(ASTRONAUT, join(inputs, "astronaut.png"));
  await Deno.writeTextFile(join(inputs, "readme.txt"), "skipped: a folder expands to its images only\n");

  const run = await runPredict(["--model", model, "--out", out, "--json", corrupt, inputs, text]);
  assertEquals(run.code, 1, run.stderr);
  const [first, astro, noFace, last] = run.lines.map((l) => JSON.parse(l));
  assertEquals(run.lines.length, 4, run.lines.join("\n"));
  assertEquals(first.file, corrupt);
  assert(typeof first.error === "string" && first.error.includes("decode"), first.error);
  assertEquals(last.file, text);
  assert(typeof last.error === "string", JSON.stringify(last));
  assertEquals(noFace, { file: blank, width: 120, height: 90, faces: [] });
  assertEquals([astro.file, astro.width, astro.height, astro.faces.length], [
    join(inputs, "astronaut.png"),
    512,
    512,
    1,
  ]);
  const [x, y, w, h] = astro.faces[0].box;
  assertEquals(Object.keys(astro.faces[0].keypoints), [...KEYPOINT_NAMES]);
  const [ex, ey] = fromCropCoords(48, 48, cropBoxForDetection({ x, y, width: w, height: h }));
  assertAlmostEquals(astro.faces[0].keypoints.mouth_left_corner[0], ex, 0.006);
  assertAlmostEquals(astro.faces[0].keypoints.mouth_left_corner[1], ey, 0.006);
  assertEquals([...Deno.readDirSync(out)].map((e) => e.name).sort(), ["astronaut.png", "blank.png"]);

  const ok = await runPredict(["--model", model, "--no-images", "--json", blank]);
  assertEquals([ok.code, ok.lines.length], [0, 1], ok.stderr);

  const noModel = await runPredict(["--model", join(dir, "none"), blank]);
  assertEquals(noModel.code, 2);
  assert(noModel.stderr.includes("no keypoint model"), noModel.stderr);
  await Deno.remove(dir, { recursive: true });
});
