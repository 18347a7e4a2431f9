/**
 * A model folder a user damaged or mixed up (another model's model.json, a truncated, padded or
 * overwritten weights.bin) is refused with one line naming the file, never loaded into wrong predictions.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { DataError, UsageError } from "../lib/core/errors.ts";
import {
  createModel,
  exportKeypointModel,
  loadKeypointModel,
  makeMetadata,
  saveKeypointModel,
} from "../lib/models/mod.ts";
import { runScript } from "./_cli.ts";

await tf.setBackend("cpu");

/** Saves a LeNet and a thesis ResNet into `dir`/lenet and `dir`/resnet. */
async function twoModels(dir: string): Promise<{ lenet: string; resnet: string }> {
  const lenet = join(dir, "lenet"), resnet = join(dir, "resnet");
  for (const [name, folder] of [["lenet", lenet], ["thesis-resnet", resnet]] as const) {
    const model = createModel(name, { seed: 1 });
    await saveKeypointModel(folder, model, makeMetadata(name, model));
    model.dispose();
  }
  return { lenet, resnet };
}

function isDataErrorNaming(file: string, pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof DataError, `expected a DataError, got ${e}`);
    assert.ok(e.message.startsWith(file), `"${e.message}" does not start with ${file}`);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes("\n"), "one line");
    return true;
  };
}

Deno.test("loadKeypointModel and exportKeypointModel refuse a damaged or mixed-up model folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { lenet, resnet } = await twoModels(dir);
    const weights = join(lenet, "weights.bin");
    const good = await Deno.readFile(weights);
    const restore = () => Deno.writeFile(weights, good);
    const refused = async (file: string, pattern: RegExp) => {
      await assert.rejects(loadKeypointModel(lenet), isDataErrorNaming(file, pattern));
      await assert.rejects(exportKeypointModel(lenet, join(dir, "out")), isDataErrorNaming(file, pattern));
    };

    await Deno.writeFile(weights, good.subarray(0, good.length / 2)); // truncated
    await refused(weights, /holds \d+ bytes but model.json describes \d+/);
    await Deno.writeFile(weights, good.subarray(0, 4000));
    await refused(weights, /truncated, padded or from another model/);
    const padded = new Uint8Array(good.length + 1000);
    padded.set(good);
    await Deno.writeFile(weights, padded);
    await refused(weights, /holds \d+ bytes/);

    // Random bytes of the right size: some float32 patterns are NaN or ±Infinity.
    const random = new Uint8Array(good.length);
    for (let i = 0; i < random.length; i += 65536) crypto.getRandomValues(random.subarray(i, i + 65536));
    await Deno.writeFile(weights, random);
    await refused(weights, /holds (NaN|-?Infinity) at index \d+: damaged weights/);
    await restore();

    // The thesis ResNet's model.json beside LeNet's weights.bin and metadata.json.
    await Deno.copyFile(join(resnet, "model.json"), join(lenet, "model.json"));
    await refused(weights, /model.json describes/);
    // … and with its weights.bin too, the metadata (LeNet's) disagrees with the topology.
    await Deno.copyFile(join(resnet, "weights.bin"), weights);
    await refused(
      join(lenet, "metadata.json"),
      /says model "lenet" with 6508202 parameters, .* describes 2351198/,
    );

    await assert.rejects(Deno.stat(join(dir, "out")), Deno.errors.NotFound); // nothing was exported
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task export-model: a half-size weights.bin exits 2 with one line naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { lenet } = await twoModels(dir);
    const weights = join(lenet, "weights.bin");
    const good = await Deno.readFile(weights);
    await Deno.writeFile(weights, good.subarray(0, good.length / 2));
    const { code, stderr } = await runScript("export_model", ["--model", lenet, "--out", join(dir, "out")]);
    const text = stderr.trim();
    assert.equal(code, 2, text);
    assert.equal(text.split("\n").length, 1, text);
    assert.match(text, new RegExp(`^error: ${weights}: holds \\d+ bytes`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exportKeypointModel: an --out that is a file is refused and kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { lenet } = await twoModels(dir);
    const file = join(dir, "notes.txt");
    await Deno.writeTextFile(file, "mine\n");
    await assert.rejects(
      exportKeypointModel(lenet, file),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message === `${file} is a file, not a model folder; refusing to replace it`,
    );
    assert.equal(await Deno.readTextFile(file), "mine\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exportKeypointModel: a folder that holds a model is replaced only with overwrite", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { lenet, resnet } = await twoModels(dir);
    const before = await Deno.readFile(join(resnet, "weights.bin"));
    await assert.rejects(
      exportKeypointModel(lenet, resnet),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message === `${resnet} already holds a model: pass --overwrite to replace it, or another --out`,
    );
    assert.deepEqual(await Deno.readFile(join(resnet, "weights.bin")), before);
    const meta = await exportKeypointModel(lenet, resnet, { overwrite: true });
    assert.equal(meta.model, "lenet");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
