import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  createModel,
  exportKeypointModel,
  loadKeypointModel,
  makeMetadata,
  saveKeypointModel,
} from "../lib/models/mod.ts";

await tf.setBackend("cpu");

Deno.test("exportKeypointModel --float16: half the weight bytes, loads back as exactly the float16-rounded weights", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = createModel("thesis-resnet", { seed: 3 });
    const src = join(dir, "src"), out = join(dir, "f16");
    await saveKeypointModel(src, model, makeMetadata("thesis-resnet", model));
    await Deno.writeTextFile(join(src, "history.json"), "[]\n");
    const meta = await exportKeypointModel(src, out, { float16: true });
    assert.equal(meta.export?.weights, "float16");

    const srcBytes = (await Deno.stat(join(src, "weights.bin"))).size;
    const outBytes = (await Deno.stat(join(out, "weights.bin"))).size;
    assert.equal(outBytes, srcBytes / 2);
    assert.equal(await Deno.readTextFile(join(out, "history.json")), "[]\n");

    const loaded = await loadKeypointModel(out);
    assert.equal(loaded.metadata.export?.weights, "float16");
    const before = model.getWeights(), after = loaded.model.getWeights();
    assert.equal(after.length, before.length);
    let changed = 0;
    for (let i = 0; i < before.length; i++) {
      const a = before[i].dataSync() as Float32Array, b = after[i].dataSync() as Float32Array;
      const expected = new Float32Array(new Float16Array(a));
      assert.deepEqual(
        b,
        expected,
        `weight ${model.weights[i].name} is not the float16 rounding of the original`,
      );
      for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) changed++;
    }
    assert.ok(changed > 0, "float16 export changed no weight at all: was it stored as float32?");
    model.dispose();
    loaded.model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exportKeypointModel: float32 copy is bit-identical, and a missing source is a clear error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = createModel("lenet", { seed: 1 });
    const src = join(dir, "src"), out = join(dir, "copy");
    await saveKeypointModel(src, model, makeMetadata("lenet", model));
    await exportKeypointModel(src, out);
    assert.deepEqual(
      await Deno.readFile(join(out, "weights.bin")),
      await Deno.readFile(join(src, "weights.bin")),
    );
    await assert.rejects(
      () => exportKeypointModel(join(dir, "nope"), join(dir, "x")),
      /no such model folder/,
    );
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exportKeypointModel: re-exporting a float16 model keeps it float16 and says so, with or without --float16", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = createModel("lenet", { seed: 2 });
    const src = join(dir, "src"), half = join(dir, "half");
    await saveKeypointModel(src, model, makeMetadata("lenet", model));
    model.dispose();
    await exportKeypointModel(src, half, { float16: true });
    const halfBytes = await Deno.readFile(join(half, "weights.bin"));
    for (const float16 of [false, true]) {
      const again = join(dir, `again-${float16}`);
      const meta = await exportKeypointModel(half, again, { float16 });
      assert.equal(meta.export?.weights, "float16");
      assert.deepEqual(await Deno.readFile(join(again, "weights.bin")), halfBytes);
      const saved = JSON.parse(await Deno.readTextFile(join(again, "metadata.json")));
      assert.equal(saved.export.weights, "float16");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
