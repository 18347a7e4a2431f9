/**
 * Annotation conventions (`lib/models/calibration.ts`, `deno task calibrate`): measured per part on the
 * training faces, added to the model's output, kept through flip test-time augmentation, and chosen per
 * part when evaluating.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals } from "./_assert.ts";
import { FLIP_KEYPOINT_PAIRS, NUM_COORDS, PIXELS } from "../lib/core/constants.ts";
import { DataError, UsageError } from "../lib/core/errors.ts";
import {
  addOffsets,
  conventionForPart,
  conventionOffsets,
  measureConventions,
  mirrorCorrection,
  NO_CONVENTION,
} from "../lib/models/calibration.ts";
import { predictByConvention, predictWithFlipTta } from "../lib/evaluate/metrics.ts";
import type { KeypointPredictor } from "../lib/models/types.ts";
import { createModel, loadKeypointModel, makeMetadata, saveKeypointModel } from "../lib/models/mod.ts";
import { calibrateModel } from "../lib/train/calibrate_io.ts";
import { loadDataset } from "../lib/data/spec_io.ts";
import { splitLikeTraining } from "../lib/train/train_io.ts";
import { runScript } from "./_cli.ts";

await tf.setBackend("cpu");

const throwsWith = (fn: () => unknown, text: string) =>
  assert.throws(fn, (e: unknown) => e instanceof UsageError && e.message.includes(text));

Deno.test("measureConventions: the mean of truth − prediction per coordinate and part, missing labels left out", () => {
  const truth = new Float32Array(3 * NUM_COORDS).fill(50);
  const pred = new Float32Array(3 * NUM_COORDS).fill(50);
  pred[0] = 48, pred[NUM_COORDS] = 46; // part a, coordinate 0: offsets 2 and 4 → 3
  truth[NUM_COORDS + 1] = NaN; // part a, coordinate 1: only face 0's offset 0 counts
  pred[2 * NUM_COORDS + 5] = 51; // part b, coordinate 5: −1
  const c = measureConventions(pred, truth, ["a", "a", "b"]);
  assert.deepEqual(Object.keys(c), ["a", "b"]);
  assert.equal(c.a.faces, 2);
  assert.equal(c.a.offsets[0], 3);
  assert.equal(c.a.offsets[1], 0);
  assert.equal(c.b.offsets[5], -1);
  assert.equal(c.b.offsets.filter((v) => v !== 0).length, 1);
  throwsWith(() => measureConventions(pred, truth, ["a"]), "1 faces need 30 coordinates");
});

Deno.test("conventionOffsets and conventionForPart: a part's own, else the default; none; unknown names refused", () => {
  const cal = {
    conventions: { ytf68: new Array(30).fill(1), "300w": new Array(30).fill(2) },
    default: "300w",
  };
  assert.deepEqual([...conventionOffsets(cal)!], new Array(30).fill(2));
  assert.deepEqual([...conventionOffsets(cal, "ytf68")!], new Array(30).fill(1));
  assert.equal(conventionOffsets(cal, NO_CONVENTION), undefined);
  assert.equal(conventionOffsets(undefined), undefined);
  throwsWith(
    () => conventionOffsets(cal, "afw"),
    'unknown annotation convention "afw": the model has ytf68, 300w',
  );
  throwsWith(() => conventionOffsets(undefined, "afw"), "run deno task calibrate");
  assert.equal(conventionForPart(cal, "ytf68"), "ytf68");
  assert.equal(conventionForPart(cal, "lfpw_testset"), "300w");
  // A part named after a convention, as another copy or split of that dataset would be, takes it.
  assert.equal(conventionForPart(cal, "ytf68_heldout"), "ytf68");
  assert.equal(conventionForPart(cal, "ytf68~2"), "ytf68");
  assert.equal(conventionForPart(cal, "ytf680"), "300w");
  assert.equal(conventionForPart(cal, "ytf68", NO_CONVENTION), NO_CONVENTION);
  assert.equal(conventionForPart(undefined, "ytf68"), NO_CONVENTION);
});

/** A mirror-symmetric "network" (the same symmetric face for every image) plus `offsets`, as a model adds them. */
function symmetricPredictor(offsets?: Float32Array): KeypointPredictor {
  // Midline points at x = 47.5; each left/right pair at the same height, mirrored about it.
  const face = new Float32Array(NUM_COORDS);
  for (let k = 0; k < 15; k++) face[2 * k] = 47.5, face[2 * k + 1] = 20 + 4 * k;
  for (const [l, r] of FLIP_KEYPOINT_PAIRS) {
    [face[2 * l], face[2 * r], face[2 * r + 1]] = [60, 35, face[2 * l + 1]];
  }
  return {
    name: "symmetric",
    offsets,
    predict: (_images, n) => {
      const out = new Float32Array(n * NUM_COORDS);
      for (let i = 0; i < n; i++) out.set(face, i * NUM_COORDS);
      return Promise.resolve(addOffsets(out, offsets));
    },
  };
}

Deno.test("flip test-time augmentation keeps a convention's horizontal shift instead of cancelling it", async () => {
  const offsets = new Float32Array(NUM_COORDS);
  // Every x 0.8 px to the right (as ytf68's labels), every y 0.5 px up.
  for (let j = 0; j < NUM_COORDS; j++) offsets[j] = j % 2 === 0 ? 0.8 : -0.5;
  const images = new Float32Array(2 * PIXELS);
  const plain = await symmetricPredictor(offsets).predict(images, 2);
  const tta = await predictWithFlipTta(symmetricPredictor(offsets), images, 2);
  for (let j = 0; j < 2 * NUM_COORDS; j++) assertAlmostEquals(tta[j], plain[j], 1e-5);
  // Without the correction the mirrored prediction would bring the shift back to 0 (the nose at 47.5).
  assert.ok(Math.abs(tta[20] - 47.5 - 0.8) < 1e-5, `${tta[20]}`);
  // mirrorCorrection doubles a shift common to all x and leaves one common to all y alone.
  assert.ok(mirrorCorrection(offsets).every((v, j) => Math.abs(v - (j % 2 === 0 ? 1.6 : 0)) < 1e-6));
});

/** A small model folder whose metadata records a 10 % validation split of `data` (seed 0), as training writes. */
async function modelFolder(dir: string): Promise<string> {
  const model = createModel("lenet", { seed: 3 });
  await saveKeypointModel(dir, model, makeMetadata("lenet", model, { config: { validation: 0.1, seed: 0 } }));
  model.dispose();
  return dir;
}

Deno.test("calibrateModel: the training faces' mean error becomes zero; a part under 50 faces has no convention of its own; weights untouched", async () => {
  const dir = await modelFolder(join(await Deno.makeTempDir(), "m"));
  const data = "synthetic:64:1+synthetic:30:2";
  const weights = await Deno.readFile(join(dir, "weights.bin"));
  const cal = (await calibrateModel(dir, { data }))!;
  // The second part's training faces (fewer than 50) have no convention of their own.
  assert.deepEqual(Object.keys(cal.conventions).sort(), ["all", "synthetic"]);
  assert.equal(cal.default, "all");
  assert.deepEqual(await Deno.readFile(join(dir, "weights.bin")), weights);

  const model = await loadKeypointModel(dir, { convention: NO_CONVENTION });
  try {
    const train = splitLikeTraining(await loadDataset(data), model.metadata, "training");
    assert.ok(train.parts!.filter((p) => p === "synthetic").length >= 50);
    const { pred, conventions } = await predictByConvention(model, train.images, train.parts!);
    // synthetic~2, the second part of that name, takes synthetic's convention (conventionForPart).
    assert.deepEqual(conventions, { synthetic: "synthetic", "synthetic~2": "synthetic" });
    const again = measureConventions(pred, train.keypoints, train.parts!);
    for (const v of again.synthetic.offsets) assert.ok(Math.abs(v) < 1e-3, `${v}`);
    // The metadata is what loadKeypointModel reads: its default applies when no convention is named.
    const loaded = await loadKeypointModel(dir);
    assert.deepEqual([...loaded.offsets!], cal.conventions.all.map(Math.fround));
    loaded.model.dispose();
    throwsWith(() => conventionOffsets(model.metadata.calibration, "afw"), "the model has synthetic, all");
  } finally {
    model.model.dispose();
  }
  // A named pooled default; a default with fewer than 50 training faces is refused before any prediction.
  const pooled = (await calibrateModel(dir, { data, defaultConvention: "both=synthetic+synthetic~2" }))!;
  assert.equal(pooled.default, "both");
  assert.deepEqual(Object.keys(pooled.conventions).sort(), ["both", "synthetic"]);
  assert.deepEqual(pooled.conventions.both, cal.conventions.all); // every training face, as all
  await assert.rejects(
    () => calibrateModel(dir, { data, defaultConvention: "synthetic~2" }),
    (e: unknown) =>
      e instanceof UsageError &&
      /training faces in synthetic~2, a convention needs at least 50/.test(e.message),
  );
  // Too few faces in all: nothing written.
  const small = await modelFolder(join(await Deno.makeTempDir(), "s"));
  const before = await Deno.readTextFile(join(small, "metadata.json"));
  assert.equal(await calibrateModel(small, { data: "synthetic:40" }), undefined);
  assert.equal(await Deno.readTextFile(join(small, "metadata.json")), before);
});

Deno.test("loadKeypointModel: a damaged calibration is a DataError naming metadata.json; an unknown --convention a UsageError", async () => {
  const dir = await modelFolder(join(await Deno.makeTempDir(), "m"));
  const file = join(dir, "metadata.json");
  const meta = JSON.parse(await Deno.readTextFile(file));
  await Deno.writeTextFile(
    file,
    JSON.stringify({ ...meta, calibration: { conventions: { a: [1, 2] }, default: "a" } }),
  );
  await assert.rejects(
    () => loadKeypointModel(dir),
    (e: unknown) =>
      e instanceof DataError && e.message.startsWith(file) && /"a" needs 30 finite offsets/.test(e.message),
  );
  await assert.rejects(() => loadKeypointModel(dir, { convention: "b" }), UsageError);
  const raw = await loadKeypointModel(dir, { convention: NO_CONVENTION });
  assert.equal(raw.offsets, undefined);
  raw.model.dispose();
});

Deno.test("deno task calibrate: a default part the data does not have exits 2 naming it, metadata kept", async () => {
  const dir = await modelFolder(join(await Deno.makeTempDir(), "m"));
  const before = await Deno.readTextFile(join(dir, "metadata.json"));
  const r = await runScript("calibrate", [
    "--model",
    dir,
    "--data",
    "synthetic:20",
    "--default",
    "afw",
    "--backend",
    "cpu",
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--default: the training data has no part "afw" \(its parts: synthetic\)/);
  assert.equal(r.stderr.split("\n").filter((l) => l.startsWith("error")).length, 1, r.stderr);
  assert.equal(await Deno.readTextFile(join(dir, "metadata.json")), before);
});
