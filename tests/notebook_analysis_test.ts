import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { syntheticDataset } from "../lib/data/synthetic.ts";
import { DataError, UsageError } from "../lib/core/errors.ts";
import type { KeypointModel, ModelMetadata } from "../lib/models/keypoint_model.ts";
import { readMetadata } from "../lib/models/folder_io.ts";
import {
  bestAndWorst,
  compareModels,
  endToEndComparisonTable,
  epochCost,
  heldOutPhotosSpec,
  notebookModels,
  roughDuration,
} from "../lib/notebooks/analysis.ts";
import {
  endToEndPhotos,
  heldOutPredictions,
  trainingSummary,
  trainInRunFolder,
  validationSplitOf,
} from "../lib/notebooks/runs_io.ts";
import { prepareData, train, type TrainConfig } from "../lib/train/train_io.ts";

await tf.setBackend("cpu");

/** A tiny model that trains in milliseconds on the cpu backend. */
function tiny({ seed }: { seed: number }): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.averagePooling2d({ inputShape: [96, 96, 1], poolSize: 8 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 30, kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
    ],
  });
}
const TINY: Partial<TrainConfig> = { model: "tiny", build: tiny, batchSize: 8, augment: null, seed: 3 };
const ds = syntheticDataset({ n: 40, seed: 2 });

Deno.test("bestAndWorst: smallest and largest errors, NaN left out, never the same face twice", () => {
  const errors = [3, NaN, 1, 2, 5, 0];
  assert.deepEqual(bestAndWorst(errors, 2), { best: [5, 2], worst: [4, 0] });
  const all = bestAndWorst(errors, 10);
  assert.deepEqual(all.best, [5, 2, 3, 0, 4]);
  assert.deepEqual(all.worst, [], "every face is already among the best");
  assert.deepEqual(bestAndWorst(errors, 3), { best: [5, 2, 3], worst: [4, 0] });
  assert.throws(() => bestAndWorst(errors, -1), UsageError);
});

Deno.test("compareModels: every model on the same faces, metrics, per-face errors and size", async () => {
  const perfect = {
    name: "perfect",
    predict: (_images: Float32Array, n: number) => Promise.resolve(ds.keypoints.slice(0, n * 30)),
    model: { countParams: () => 5 },
  } as unknown as KeypointModel;
  const shifted = {
    name: "shifted",
    predict: (_images: Float32Array, n: number) =>
      Promise.resolve(ds.keypoints.slice(0, n * 30).map((v) => v + 3)),
    model: { countParams: () => 7 },
  } as unknown as KeypointModel;
  const runs = await compareModels([perfect, shifted], ds);
  assert.deepEqual(runs.map((r) => [r.name, r.params]), [["perfect", 5], ["shifted", 7]]);
  assert.equal(runs[0].metrics.rmse_px, 0);
  assert.ok(Math.abs(runs[1].metrics.rmse_px - 3) < 1e-5);
  // A point off by 3 px in x and y is 3√2 px away.
  assert.ok(Math.abs(runs[1].errors[0] - 3 * Math.SQRT2) < 1e-4);
  assert.equal(runs[1].errors.length, ds.n);
  assert.ok(runs.every((r) => r.imagesPerSec > 0));
  await assert.rejects(() => compareModels([perfect], { ...ds, n: 0 }), UsageError);
});

Deno.test("epochCost and roughDuration: seconds per epoch from a measured speed", () => {
  assert.deepEqual(epochCost(20, 5000), { imagesPerSec: 20, trainFaces: 5000, secondsPerEpoch: 250 });
  assert.throws(() => epochCost(0, 10), UsageError);
  assert.throws(() => epochCost(10, 1.5), UsageError);
  assert.equal(roughDuration(42), "42 s");
  assert.equal(roughDuration(250), "4 min");
  assert.equal(roughDuration(3 * 3600 + 1800), "3.5 h");
});

Deno.test("validationSplitOf: the split recorded in the model's metadata, refused on other data", async () => {
  const dir = await Deno.makeTempDir({ prefix: "split_test_" });
  try {
    const run = await train(ds, { ...TINY, epochs: 1, validation: 0.3, out: dir });
    run.model.dispose();
    const metadata = await readMetadata(dir);
    const validation = validationSplitOf(ds, metadata);
    const expected = prepareData(ds, run.config).validation;
    assert.equal(validation.n, expected.n);
    assert.deepEqual(validation.keypoints, expected.keypoints);
    // The defaults (validation 0.2, seed 0) give another split: the metadata's is the one used.
    assert.notEqual(
      prepareData(ds, { validation: 0.2, seed: 0, completeOnly: false }).validation.n,
      validation.n,
    );
    assert.throws(
      () => validationSplitOf(syntheticDataset({ n: 30, seed: 2 }), metadata),
      (e) =>
        e instanceof DataError &&
        /the model tiny was trained on \d+\/\d+ faces.*not the same data/.test(e.message),
    );
    assert.throws(
      () => validationSplitOf(ds, { model: "x" } as unknown as ModelMetadata),
      /records no training split/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trainInRunFolder: continues a run, shows a finished one without training, or starts afresh", async () => {
  const dir = await Deno.makeTempDir({ prefix: "run_folder_test_" });
  const out = join(dir, "tiny");
  try {
    const first = await trainInRunFolder(ds, { ...TINY, model: "tiny", epochs: 2, out });
    assert.equal(first.resumedFrom, null);
    assert.equal(first.history.length, 2);
    first.model.dispose();

    const more = await trainInRunFolder(ds, { ...TINY, model: "tiny", epochs: 3, out });
    assert.equal(more.resumedFrom, 2, "continues the run folder");
    assert.equal(more.history.length, 3);
    more.model.dispose();

    // A run stopped early is finished: asking for more epochs shows it instead of training again.
    const statePath = join(out, "checkpoint", "state.json");
    const state = JSON.parse(await Deno.readTextFile(statePath));
    await Deno.writeTextFile(statePath, JSON.stringify({ ...state, finished: "early-stopping" }));
    const shown = await trainInRunFolder(ds, { ...TINY, model: "tiny", epochs: 50, out });
    assert.equal(shown.stoppedBy, "already finished");
    assert.equal(shown.history.length, 3);
    assert.match(trainingSummary(shown, "cpu"), /shown from its run folder \(not trained again\)/);
    const held = await heldOutPredictions(ds, shown);
    assert.equal(held.faces.n + held.trainFaces, ds.n);
    assert.equal(held.predicted.length, held.faces.n * 30);
    shown.model.dispose();

    const fresh = await trainInRunFolder(ds, { ...TINY, model: "tiny", epochs: 1, out }, {}, { fresh: true });
    assert.equal(fresh.resumedFrom, null);
    assert.equal(fresh.history.length, 1);
    fresh.model.dispose();

    await assert.rejects(
      () => trainInRunFolder(ds, { ...TINY, model: "lenet", build: undefined, epochs: 1, out }),
      (e) => e instanceof UsageError && /holds a run of tiny, not lenet/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("heldOutPhotosSpec: FKD_E2E_DATA, else the dataset's :test split, else a fallback that exists", () => {
  const has = (...files: string[]) => (p: string) => files.includes(p);
  const ytf = "/d/ytf68";
  assert.equal(heldOutPhotosSpec(`${ytf}:training`, { FKD_E2E_DATA: " /d/afw " }, [], has()), "/d/afw");
  assert.equal(
    heldOutPhotosSpec(`${ytf}:training`, {}, [], has(`${ytf}/test_frames_keypoints.csv`)),
    `${ytf}:test`,
  );
  assert.equal(
    heldOutPhotosSpec("synthetic:1000", {}, ["/s/ytf68:test"], has("/s/ytf68/test_frames_keypoints.csv")),
    "/s/ytf68:test",
  );
  assert.equal(heldOutPhotosSpec("synthetic:1000", {}, ["/s/ytf68:test"], has()), null);
});

Deno.test("endToEndComparisonTable: one row per model with detection and failure rates", () => {
  const table = endToEndComparisonTable([{
    name: "lenet",
    report: { n: 10, detected: 9, nme: 0.0812, failure_rate_10: 0.3, ms_per_image: 31.25 },
    nme: new Float32Array(10),
  }]);
  assert.match(table, /\| lenet \| {2}\| 10 \| 9 \(90\.0 %\) \| 0\.0812 \| 30\.0 % \| 31\.3 ms \|/);
  assert.match(table, /failure rate \(NME > 0\.10 or missed\)/);
});

Deno.test("endToEndComparisonTable: a model's parts follow its total", () => {
  const part = (n: number) => ({ n, detected: n, nme: 0.05, failure_rate_10: 0, ms_per_image: 10 });
  const table = endToEndComparisonTable([{
    name: "slim",
    report: { ...part(5), parts: { ytf68: part(3), afw: part(2) } },
    nme: new Float32Array(5),
  }]);
  const lines = table.split("\n").slice(2);
  assert.deepEqual(lines.map((l) => l.split("|").slice(1, 4).map((c) => c.trim())), [
    ["slim", "all", "5"],
    ["", "ytf68", "3"],
    ["", "afw", "2"],
  ]);
});

Deno.test("notebookModels: FKD_MODELS, else LeNet and the thesis ResNet (or ResNet-50)", () => {
  assert.deepEqual(notebookModels({}), ["lenet", "thesis-resnet"]);
  assert.deepEqual(notebookModels({ FKD_RESNET50: "1" }), ["lenet", "resnet50"]);
  assert.deepEqual(notebookModels({ FKD_MODELS: " lenet , resnet18-slim " }), ["lenet", "resnet18-slim"]);
  assert.throws(() => notebookModels({ FKD_MODELS: "lenet" }), /needs two model names/);
});

Deno.test("endToEndPhotos: the validation faces where they come from photos, else the named or fallback set", async () => {
  const ds = syntheticDataset({ n: 6, seed: 2 });
  const source = (i: number) => ({
    file: `p${i}.png`,
    width: 96,
    height: 96,
    box: { x: 0, y: 0, size: 96 },
    landmarks68: new Float32Array(136),
  });
  const photos = { ...ds, sources: Array.from({ length: 6 }, (_, i) => source(i)) };
  const all = await endToEndPhotos(photos, "x", {}, []);
  assert.equal(all?.photos, photos);
  assert.match(all!.label, /^the models' 6 validation faces/);
  const first = await endToEndPhotos(photos, "x", {}, [], 4);
  assert.deepEqual([first?.photos.n, first?.label.startsWith("the first 4 of the models' 6")], [4, true]);
  // Synthetic faces have no photos; with no fallback on disk there is nothing to score.
  assert.equal(await endToEndPhotos(ds, "synthetic:6", {}, ["/nonexistent/ytf68:test"]), null);
});
