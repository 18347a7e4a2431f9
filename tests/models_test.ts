import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { PIXELS } from "../lib/core/constants.ts";
import { UsageError } from "../lib/core/errors.ts";
import {
  createModel,
  denormalise,
  loadKeypointModel,
  makeMetadata,
  MODEL_NAMES,
  MODEL_PARAMS,
  normalise,
  resolveModelDir,
  saveKeypointModel,
} from "../lib/models/mod.ts";
import { replaceDir } from "../lib/models/artifacts_io.ts";

await tf.setBackend("cpu");

const randomImages = (n: number, seed = 1) => {
  let s = seed;
  return Float32Array.from({ length: n * PIXELS }, () => ((s = (s * 16807) % 2147483647) / 2147483647));
};

Deno.test("normalise maps 0, 48, 96 px to -1, 0, 1 and denormalise inverts it", () => {
  const px = new Float32Array([0, 48, 96, 12, NaN]);
  const n = normalise(px);
  assert.deepEqual([...n.slice(0, 4)], [-1, 0, 1, -0.75]);
  assert.ok(Number.isNaN(n[4]));
  assert.deepEqual([...denormalise(n).slice(0, 4)], [0, 48, 96, 12]);
});

Deno.test("createModel: parameter counts and output shape [null, 30] of every model", () => {
  const expected = {
    "lenet": 6_508_202,
    "thesis-resnet": 2_351_198,
    "resnet50": 23_642_910,
    "resnet18-slim": 1_490_414,
  };
  for (const name of MODEL_NAMES) {
    const model = createModel(name, { seed: 0 });
    try {
      assert.equal(model.countParams(), expected[name], name);
      assert.equal(MODEL_PARAMS[name], expected[name]);
      assert.deepEqual(model.inputs[0].shape, [null, 96, 96, 1]);
      assert.deepEqual(model.outputs[0].shape, [null, 30]);
    } finally {
      model.dispose();
    }
  }
});

Deno.test("createModel: lenet and thesis-resnet predict [n, 30] for n faces", () => {
  for (const name of ["lenet", "thesis-resnet"]) {
    const model = createModel(name, { seed: 0 });
    const y = tf.tidy(() => model.predict(tf.tensor4d(randomImages(2), [2, 96, 96, 1])) as tf.Tensor);
    assert.deepEqual(y.shape, [2, 30]);
    assert.ok((y.dataSync() as Float32Array).every(Number.isFinite));
    y.dispose();
    model.dispose();
  }
});

Deno.test("createModel: equal seeds give equal weights, other seeds other weights", () => {
  const [a, b, c] = [1, 1, 2].map((seed) => createModel("thesis-resnet", { seed }));
  const flat = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync().slice(0, 50)));
  assert.deepEqual(flat(a), flat(b));
  assert.notDeepEqual(flat(a)[0], flat(c)[0]);
  // Two layers of the same shape must not start equal (each layer draws its own seed).
  const kernels = a.getWeights().filter((w) => w.shape.join() === "3,3,128,128");
  assert.ok(kernels.length >= 2);
  assert.notDeepEqual(Array.from(kernels[0].dataSync()), Array.from(kernels[1].dataSync()));
  [a, b, c].forEach((m) => m.dispose());
});

Deno.test("createModel: an unknown name is a UsageError listing the models", () => {
  assert.throws(
    () => createModel("vgg16"),
    (e: unknown) => e instanceof UsageError && e.message.includes("lenet, thesis-resnet, resnet50"),
  );
});

Deno.test("saveKeypointModel writes the tfjs LayersModel format and loadKeypointModel predicts the same", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = createModel("lenet", { seed: 3 });
    const out = join(dir, "models", "lenet");
    await saveKeypointModel(out, model, makeMetadata("lenet", model, { note: "test" }));
    assert.deepEqual([...Deno.readDirSync(join(dir, "models"))].map((e) => e.name), ["lenet"]); // no temp left
    const files = [...Deno.readDirSync(out)].map((e) => e.name).sort();
    assert.deepEqual(files, ["metadata.json", "model.json", "weights.bin"]);
    const json = JSON.parse(Deno.readTextFileSync(join(out, "model.json")));
    assert.equal(json.format, "layers-model");
    assert.deepEqual(json.weightsManifest[0].paths, ["./weights.bin"]);
    assert.equal(Deno.statSync(join(out, "weights.bin")).size, 6_508_202 * 4);
    const meta = JSON.parse(Deno.readTextFileSync(join(out, "metadata.json")));
    assert.equal(meta.model, "lenet");
    assert.equal(meta.keypointNames.length, 15);
    assert.equal(meta.normalisation.formula, "(p - 48) / 48");

    const images = randomImages(3, 7);
    const loaded = await loadKeypointModel(out);
    assert.equal(loaded.name, "lenet");
    assert.equal(loaded.metadata.training?.note, "test");
    const expected = denormalise(
      tf.tidy(() =>
        (model.predict(tf.tensor4d(images, [3, 96, 96, 1])) as tf.Tensor).dataSync() as Float32Array
      ),
    );
    const got = await loaded.predict(images, 3);
    assert.equal(got.length, 90);
    got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-4, `output ${i}: ${v} vs ${expected[i]}`));
    model.dispose();
    loaded.model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replaceDir: a failed write leaves the old folder intact; a non-model folder is never replaced", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const target = join(dir, "m");
    await replaceDir(target, (tmp) => Deno.writeTextFile(join(tmp, "model.json"), "old"));
    await assert.rejects(
      replaceDir(target, async (tmp) => {
        await Deno.writeTextFile(join(tmp, "model.json"), "half");
        throw new Error("crash while writing");
      }),
      /crash while writing/,
    );
    assert.equal(Deno.readTextFileSync(join(target, "model.json")), "old");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["m"]);

    // Leftovers of an interrupted write (a temporary folder, an old folder) go with the next write.
    Deno.mkdirSync(join(dir, "m.tmp-1-1"));
    Deno.mkdirSync(join(dir, "m.old-1-1"));
    await replaceDir(target, (tmp) => Deno.writeTextFile(join(tmp, "model.json"), "new"));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["m"]);
    assert.equal(Deno.readTextFileSync(join(target, "model.json")), "new");

    const userDir = join(dir, "user");
    Deno.mkdirSync(userDir);
    Deno.writeTextFileSync(join(userDir, "notes.txt"), "mine");
    await assert.rejects(replaceDir(userDir, () => Promise.resolve()), UsageError);
    assert.equal(Deno.readTextFileSync(join(userDir, "notes.txt")), "mine");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resolveModelDir: finds the folder moved aside by a crash between the two renames", async () => {
  const dir = await Deno.makeTempDir();
  try {
    Deno.mkdirSync(join(dir, "m.old-123-1000"));
    Deno.mkdirSync(join(dir, "m.old-123-2000"));
    assert.equal(await resolveModelDir(join(dir, "m")), join(dir, "m.old-123-2000"));
    await assert.rejects(loadKeypointModel(join(dir, "nothing")), /no such model folder/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a saved model loads with tf.loadLayersModel over HTTP, as a browser loads it", async () => {
  const dir = await Deno.makeTempDir();
  const model = createModel("thesis-resnet", { seed: 5 });
  await saveKeypointModel(dir, model, makeMetadata("thesis-resnet", model));
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const file = join(dir, new URL(req.url).pathname.slice(1));
    return new Response(await Deno.readFile(file));
  });
  try {
    const loaded = await tf.loadLayersModel(`http://127.0.0.1:${server.addr.port}/model.json`);
    assert.equal(loaded.countParams(), 2_351_198);
    const [a, b] = [model, loaded].map((m) => m.getWeights().at(-2)!.dataSync().slice(0, 20));
    assert.deepEqual(a, b);
    loaded.dispose();
  } finally {
    model.dispose();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
