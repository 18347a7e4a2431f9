/**
 * Resuming a functional model (the thesis ResNet) on wasm: a model loaded from a checkpoint registers its
 * variables in another order than a freshly built one, and Adam pairs its moments with variables by
 * position, so the optimizer state must be restored by name.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { initBackend } from "../lib/backend_io.ts";
import { randomSplit } from "../lib/data/split.ts";
import { syntheticDataset } from "../lib/data/synthetic.ts";
import { train, type TrainConfig } from "../lib/train/train_io.ts";

await initBackend({ backend: "wasm" });
const data = randomSplit(syntheticDataset({ n: 10, seed: 2 }), { validation: 0.2, seed: 0 });
const cfg: Partial<TrainConfig> = {
  model: "thesis-resnet",
  batchSize: 4,
  augment: null,
  earlyStopping: 0,
  seed: 1,
};
const quiet = {};

Deno.test("train: a thesis-resnet run resumed from its checkpoint continues like an uninterrupted one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "run");
    (await train(data, { ...cfg, epochs: 1, out }, quiet)).model.dispose();
    const resumed = await train(data, { ...cfg, epochs: 2, out, resume: true }, quiet);
    const straight = await train(data, { ...cfg, epochs: 2 }, quiet);
    assert.equal(resumed.resumedFrom, 1);
    const a = resumed.history.map((e) => e.loss), b = straight.history.map((e) => e.loss);
    a.forEach((l, i) =>
      assert.ok(Math.abs(l - b[i]) <= 1e-4 * Math.abs(b[i]), `epoch ${i + 1}: ${l} vs ${b[i]}`)
    );
    resumed.model.dispose();
    straight.model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
