import { assertAlmostEquals } from "./_assert.ts";
import assert from "node:assert/strict";
import { KEYPOINT_COLUMNS, KEYPOINT_NAMES, NUM_COORDS } from "../lib/core/constants.ts";
import { PIXELS } from "../lib/core/constants.ts";
import {
  comparisonTable,
  evaluate,
  predictWithFlipTta,
  predictWithScaleTta,
} from "../lib/evaluate/metrics.ts";
import { flipImages, flipKeypoints } from "../lib/core/flip.ts";
import type { KeypointPredictor } from "../lib/models/types.ts";
import { runScript } from "./_cli.ts";
import { endToEndJson, endToEndTable } from "../lib/evaluate/end_to_end_io.ts";
import { DataError, UsageError } from "../lib/core/errors.ts";

const throwsWith = (fn: () => unknown, cls: new (...args: never[]) => Error, text = "") =>
  assert.throws(fn, (e: unknown) => e instanceof cls && e.message.includes(text));

/** One face: keypoint j at (20 + 4j, 30 + 2j), but the outer eye corners (3 and 5) at (70, 40) and (30, 40). */
function face(): Float32Array {
  const t = new Float32Array(NUM_COORDS);
  for (let j = 0; j < 15; j++) [t[2 * j], t[2 * j + 1]] = [20 + 4 * j, 30 + 2 * j];
  [t[6], t[7], t[10], t[11]] = [70, 40, 30, 40];
  return t;
}

Deno.test("evaluate: hand-computed RMSE, NME and PCK for two faces", () => {
  const truth = new Float32Array([...face(), ...face()]);
  const pred = truth.slice();
  for (let j = 0; j < 15; j++) [pred[2 * j], pred[2 * j + 1]] = [truth[2 * j] + 3, truth[2 * j + 1] + 4];
  const m = evaluate(pred, truth);
  assert.deepEqual(m.n, 2);
  // Face 1: every point off by (3, 4): squared errors 9 and 16; face 2 exact. Mean over 60 coords = 6.25.
  assertAlmostEquals(m.rmse_px, 2.5, 1e-9);
  // Point error 5, eye-corner distance 40: face NME 0.125 and 0; mean 0.0625.
  assertAlmostEquals(m.nme, 0.0625, 1e-9);
  // Thresholds 2 px and 4 px: face 1's 15 points miss both, face 2's 15 points meet both.
  assert.deepEqual(m.pck_05, 0.5);
  assert.deepEqual(m.pck_10, 0.5);
  // Face 1's NME 0.125 is above 0.10, face 2's 0 is not: half the faces fail.
  assert.deepEqual(m.failure_rate_10, 0.5);
  // Per keypoint: x errors 3, 0 and y errors 4, 0 → sqrt((9 + 16) / 4) = 2.5 for every keypoint.
  assert.deepEqual(Object.keys(m.per_keypoint_rmse_px), [...KEYPOINT_NAMES]);
  for (const v of Object.values(m.per_keypoint_rmse_px)) assertAlmostEquals(v, 2.5, 1e-9);
});

Deno.test("evaluate: missing coordinates are left out, faces without eye corners skip NME", () => {
  const t1 = face(), t2 = face();
  t1[20] = NaN; // nose_tip x missing in face 1
  t2[6] = NaN, t2[7] = NaN; // left_eye_outer_corner missing in face 2: no normaliser
  const truth = new Float32Array([...t1, ...t2]);
  const pred = truth.map((v) => (Number.isNaN(v) ? 999 : v));
  pred[0] += 6; // face 1 left_eye_center x off by 6 (face 1 has a normaliser, d = 40)
  pred[30 + 2] += 8; // face 2 right_eye_center x off by 8 (face 2 has no normaliser)
  const m = evaluate(pred, truth);
  // Present coords: 29 + 28 = 57; squared errors 36 + 64 = 100.
  assertAlmostEquals(m.rmse_px, Math.sqrt(100 / 57), 1e-9);
  // Face 1 only: nose_tip lacks x so 14 points count; mean error 6/14; NME = 6/14/40.
  assertAlmostEquals(m.nme, 6 / 14 / 40, 1e-9);
  assertAlmostEquals(m.pck_10, 13 / 14, 1e-9); // 6 px > 4 px misses
  assertAlmostEquals(m.per_keypoint_rmse_px.left_eye_center, Math.sqrt(36 / 4), 1e-9);
  assertAlmostEquals(m.per_keypoint_rmse_px.right_eye_center, Math.sqrt(64 / 4), 1e-9);
  assert.deepEqual(m.per_keypoint_rmse_px.nose_tip, 0);
  assert.deepEqual(m.per_keypoint_rmse_px.left_eye_outer_corner, 0);
});

Deno.test("evaluate: a keypoint missing everywhere gives NaN, no faces give NaN metrics", () => {
  const t = face();
  t[28] = NaN, t[29] = NaN;
  const m = evaluate(t.slice(), t);
  assert.ok(Number.isNaN(m.per_keypoint_rmse_px.mouth_center_bottom_lip));
  assert.deepEqual(m.rmse_px, 0);
  const empty = evaluate(new Float32Array(0), new Float32Array(0));
  assert.deepEqual(empty.n, 0);
  assert.ok(Number.isNaN(empty.rmse_px) && Number.isNaN(empty.nme) && Number.isNaN(empty.pck_05));
});

Deno.test("evaluate: refuses mismatched lengths and NaN predictions of present points", () => {
  throwsWith(() => evaluate(new Float32Array(30), new Float32Array(60)), UsageError, "equal length");
  throwsWith(() => evaluate(new Float32Array(29), new Float32Array(29)), UsageError);
  const pred = face();
  pred[4] = NaN;
  throwsWith(() => evaluate(pred, face()), DataError, "face 0, coordinate 4");
});

Deno.test("flipKeypoints mirrors x about 47.5, swaps left and right, and is its own inverse", () => {
  const t = face();
  const f = flipKeypoints(t, 1);
  // left_eye_center (0) takes right_eye_center's (1) mirrored point; nose_tip (10) stays itself.
  assert.deepEqual([f[0], f[1]], [95 - t[2], t[3]]);
  assert.deepEqual([f[20], f[21]], [95 - t[20], t[21]]);
  assert.deepEqual([f[6], f[7]], [95 - t[10], t[11]]); // left outer corner ← right outer corner
  assert.deepEqual(flipKeypoints(f, 1), t);
});

Deno.test("flipImages mirrors each row", () => {
  const img = new Float32Array(2 * PIXELS);
  img[PIXELS + 5 * 96 + 2] = 1; // face 2, row 5, column 2
  const f = flipImages(img, 2);
  assert.deepEqual(f[PIXELS + 5 * 96 + 93], 1);
  assert.deepEqual(f.reduce((a, b) => a + b, 0), 1);
});

/** Predicts every keypoint at the brightest pixel: exact under flips, so TTA must return it unchanged. */
const brightest: KeypointPredictor = {
  name: "brightest",
  predict(images, n) {
    const out = new Float32Array(n * NUM_COORDS);
    for (let f = 0; f < n; f++) {
      let arg = 0;
      for (let i = 1; i < PIXELS; i++) if (images[f * PIXELS + i] > images[f * PIXELS + arg]) arg = i;
      for (let j = 0; j < 15; j++) {
        [out[f * 30 + 2 * j], out[f * 30 + 2 * j + 1]] = [arg % 96, Math.floor(arg / 96)];
      }
    }
    return Promise.resolve(out);
  },
};

Deno.test("predictWithFlipTta: an equivariant predictor is unchanged, a constant one is averaged with its mirror", async () => {
  const img = new Float32Array(PIXELS);
  img[10 * 96 + 20] = 1;
  const tta = await predictWithFlipTta(brightest, img, 1);
  for (let j = 0; j < 15; j++) assert.deepEqual([tta[2 * j], tta[2 * j + 1]], [20, 10]);

  const constant: KeypointPredictor = {
    name: "constant",
    predict: (_i, n) => Promise.resolve(face().slice(0, n * 30)),
  };
  const c = await predictWithFlipTta(constant, img, 1);
  const t = face();
  assert.deepEqual([c[20], c[21]], [(t[20] + 95 - t[20]) / 2, t[21]]); // nose: x → 47.5
  assert.deepEqual(c[0], (t[0] + 95 - t[2]) / 2); // left eye: mean of itself and the mirrored right eye
});

Deno.test("predictWithFlipTta: where one of the two predictions leaves the crop, the other is kept, not the mean", async () => {
  // The brightest pixel at the left edge: its mirror image has it at the right edge. This predictor breaks
  // (a point 30 px above the crop) on whichever of the two has the bright pixel on the right.
  const broken: KeypointPredictor = {
    name: "breaks on the right",
    async predict(images, n) {
      const out = await brightest.predict(images, n);
      for (let f = 0; f < n; f++) if (out[f * 30] > 48) out[f * 30 + 1] = -30;
      return out;
    },
  };
  const img = new Float32Array(2 * PIXELS);
  img[10 * 96 + 20] = 1; // face 0: bright on the left, so its mirror breaks
  img[PIXELS + 10 * 96 + 75] = 1; // face 1: bright on the right, so it breaks itself
  const tta = await predictWithFlipTta(broken, img, 2);
  for (let j = 0; j < 15; j++) {
    assert.deepEqual([tta[2 * j], tta[2 * j + 1]], [20, 10], `face 0 keypoint ${j}`);
    assert.deepEqual([tta[30 + 2 * j], tta[30 + 2 * j + 1]], [75, 10], `face 1 keypoint ${j}`);
  }
});

Deno.test("predictWithScaleTta: the median of the first prediction and those on the scaled crops inside them, mapped back", async () => {
  const images = new Float32Array(2 * PIXELS);
  // Call k (0: the crop itself, 1: scaled 0.9, 2: scaled 1.1) answers every coordinate with answers[k].
  const scripted = (answers: number[]) => {
    let call = 0;
    return (_images: Float32Array, n: number) =>
      Promise.resolve(new Float32Array(n * NUM_COORDS).fill(answers[call++]));
  };
  // 57.5 on a crop 0.9 times the side is 47.5 + 10 · 0.9 = 56.5 on the crop; on 1.1 times, 58.5: median 57.5.
  let out = await predictWithScaleTta(scripted([57.5, 57.5, 57.5]), images, 2, [0.9, 1.1]);
  assert.ok(out.every((v) => Math.abs(v - 57.5) < 1e-5), `${out[0]}`);
  // The scaled crops' answers 52.5 map back to 52 and 53: the median of 60, 52, 53 is 53.
  out = await predictWithScaleTta(scripted([60, 52.5, 52.5]), images, 2, [0.9, 1.1]);
  assert.ok(out.every((v) => Math.abs(v - 53) < 1e-5), `${out[0]}`);
  // Answers far outside their crops are no votes: the first prediction stays.
  out = await predictWithScaleTta(scripted([40, 400, -300]), images, 2, [0.9, 1.1]);
  assert.ok(out.every((v) => v === 40));
  await assert.rejects(() => predictWithScaleTta(scripted([1, 1]), images, 2, [3]), UsageError);
});

Deno.test("comparisonTable: one markdown row per model", () => {
  const m = evaluate(face(), face());
  const table = comparisonTable([{ name: "lenet", metrics: m }, {
    name: "thesis-resnet",
    metrics: { ...m, nme: NaN },
  }]);
  const lines = table.split("\n");
  assert.deepEqual(lines.length, 4);
  assert.ok(lines[0].includes("RMSE (px)"));
  assert.deepEqual(lines[2], "| lenet | 1 | 0.000 | 0.0000 | 1.000 | 1.000 |");
  assert.ok(lines[3].startsWith("| thesis-resnet | 1 | 0.000 | – |"), lines[3]);
});

Deno.test("deno task evaluate: a header-only CSV, one without labels, or no images end to end exits 2 naming the data", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const header = [...KEYPOINT_COLUMNS, "Image"].join(",");
    const headerOnly = `${dir}/header_only.csv`, unlabelled = `${dir}/unlabelled.csv`;
    await Deno.writeTextFile(headerOnly, header + "\n");
    const pixels = Array.from({ length: 96 * 96 }, () => "128").join(" ");
    await Deno.writeTextFile(
      unlabelled,
      `${header}\n${KEYPOINT_COLUMNS.map(() => "").join(",")},${pixels}\n`,
    );
    const BUNDLED_MODEL = new URL("../outputs/models/default", import.meta.url).pathname;
    // A 68-landmark folder whose CSV holds only its header, for --end-to-end.
    await Deno.mkdir(`${dir}/frames/test`, { recursive: true });
    await Deno.writeTextFile(`${dir}/frames/test_frames_keypoints.csv`, ",0,1\n");
    for (
      const [file, text, extra] of [
        [headerOnly, "no faces to evaluate", []],
        [unlabelled, "has a labelled keypoint", []],
        [`${dir}/frames:test`, "no images to evaluate", ["--end-to-end"]],
      ] as const
    ) {
      const { code, stdout, stderr } = await runScript("evaluate", [
        ...["--backend", "cpu", "--json", ...extra, "--model", BUNDLED_MODEL, "--data", file],
      ]);
      const err = stderr.trim().split("\n").at(-1)!; // after tfjs's banner
      assert.equal(code, 2, err);
      assert.equal(stdout, "", "no metrics printed");
      assert.ok(err.startsWith(`error: ${file}: `) && err.includes(text), err);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task evaluate measures what deno task predict does: the same inference options and defaults", async () => {
  // Each option's --help line, without evaluate's "--end-to-end: " before the photo-only descriptions.
  const options = async (name: string) => {
    const { code, stdout } = await runScript(name, ["--help"]);
    assert.equal(code, 0);
    return new Map(
      stdout.split("\n").filter((l) => /^ {2}--/.test(l)).map((l) => [
        l.trim().split(/\s+/)[0],
        l.replace("--end-to-end: ", "").trim(),
      ]),
    );
  };
  const [predict, evaluate] = await Promise.all([options("predict"), options("evaluate")]);
  const flags = [
    "--convention",
    "--flip",
    "--refine",
    "--scale-tta",
    "--detector",
    "--cnn-detector",
    "--cnn-tiles",
  ];
  for (const flag of flags) {
    assert.ok(predict.has(flag), `predict has ${flag}`);
    assert.equal(evaluate.get(flag), predict.get(flag), flag);
  }
  assert.match(predict.get("--flip")!, /\(default true\)$/);
  assert.match(predict.get("--refine")!, /\(default 1\)$/);
  assert.ok(!evaluate.has("--tta"), "one name for flip test-time augmentation");
});

Deno.test("endToEndTable and endToEndJson say how many detections came from the cache, and only then", () => {
  const report = { n: 4, detected: 3, nme: 0.05, failure_rate_10: 0.25, ms_per_image: 12.5 };
  const fresh = endToEndTable({ ...report, detections_cached: 0 });
  assert.ok(!fresh.includes("cache"), fresh);
  assert.ok(fresh.endsWith("| all | 4 | 3 (75.0%) | 5.00% | 25.0% | 12.5 ms |"), fresh);
  const cached = endToEndTable({ ...report, detections_cached: 3 });
  assert.match(
    cached.split("\n").at(-1)!,
    /^The detections of 3 of 4 images came from the cache .*--no-cache/,
  );
  assert.equal(JSON.parse(endToEndJson({ ...report, detections_cached: 3 })).detections_cached, 3);
  assert.equal(JSON.parse(endToEndJson({ ...report, nme: NaN })).nme, null);
});
