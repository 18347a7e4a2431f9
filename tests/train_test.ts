import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { hostname } from "node:os";
import { join } from "node:path";
import { completeOnly } from "../lib/data/dataset.ts";
import { randomSplit } from "../lib/data/split.ts";
import { syntheticDataset } from "../lib/data/synthetic.ts";
import type { KeypointDataset } from "../lib/data/types.ts";
import { DataError, OutputError, UsageError } from "../lib/core/errors.ts";
import { loadKeypointModel } from "../lib/models/folder_io.ts";
import { notebookProgress, terminalProgress } from "../lib/train/progress_io.ts";
import { recipeOf } from "../lib/train/recipes.ts";
import {
  checkInitModel,
  prepareData,
  resolveConfig,
  train,
  type TrainConfig,
  TrainingDivergedError,
} from "../lib/train/train_io.ts";

await tf.setBackend("cpu");

/** A tiny conv net (cpu-fast): 4× average pool → conv 4 3×3/2 → BN → ReLU → dense 30. */
function tiny({ seed }: { seed: number }): tf.LayersModel {
  return tf.sequential({
    name: "tiny",
    layers: [
      tf.layers.averagePooling2d({ inputShape: [96, 96, 1], poolSize: 4 }),
      tf.layers.conv2d({
        filters: 4,
        kernelSize: 3,
        strides: 2,
        kernelInitializer: tf.initializers.heNormal({ seed }),
      }),
      tf.layers.batchNormalization(),
      tf.layers.reLU(),
      tf.layers.flatten(),
      tf.layers.dense({ units: 30, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}

const data = randomSplit(syntheticDataset({ n: 48, seed: 1 }), { validation: 0.25, seed: 0 });
const base: Partial<TrainConfig> = {
  model: "tiny",
  build: tiny,
  batchSize: 8,
  lr: 3e-3,
  augment: null,
  seed: 7,
};
const quiet = {};

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("train: the loss decreases and validation metrics are reported in pixels", async () => {
  const result = await train(data, { ...base, epochs: 4 }, quiet);
  const h = result.history;
  assert.equal(h.length, 4);
  assert.ok(h[3].loss < h[0].loss, `loss ${h[0].loss} → ${h[3].loss}`);
  assert.ok(Number.isFinite(h[3].val_rmse_px) && h[3].val_rmse_px > 0);
  assert.equal(result.metrics.n, 12);
  assert.equal(result.bestEpoch, h.reduce((b, r) => (r.val_rmse_px < h[b - 1].val_rmse_px ? r.epoch : b), 1));
  result.model.dispose();
});

Deno.test("train: no tensor leaks, with augmentation and checkpoints", async () => {
  await withTempDir(async (dir) => {
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const result = await train(data, { ...base, augment: undefined, epochs: 3, out: join(dir, "run") }, {
      onEpoch: () => counts.push(tf.memory().numTensors),
    });
    assert.equal(counts.length, 3);
    assert.equal(new Set(counts).size, 1, `tensors after each epoch: ${counts}`);
    result.model.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});

Deno.test("train: a seed makes a run repeatable", async () => {
  const runs = [];
  for (const seed of [5, 5, 6]) {
    const r = await train(data, { ...base, augment: undefined, seed, epochs: 2 }, quiet);
    runs.push({
      losses: r.history.map((e) => e.loss),
      weights: Array.from(r.model.getWeights()[0].dataSync()),
    });
    r.model.dispose();
  }
  assert.deepEqual(runs[0], runs[1]);
  assert.notDeepEqual(runs[0].losses, runs[2].losses);
});

Deno.test("train: init starts from a trained model's weights; another architecture's folder is refused", async () => {
  await withTempDir(async (dir) => {
    const first = join(dir, "first");
    (await train(data, { ...base, epochs: 2, out: first }, quiet)).model.dispose();
    const trained = await loadKeypointModel(first);
    const kernel = (m: tf.LayersModel) => Array.from(m.getWeights()[0].dataSync());
    // Another seed and a learning rate too small to move anything: only init can make the weights equal.
    const still = { ...base, seed: 8, epochs: 1, lr: 1e-12, minLr: 0 };
    const fromInit = await train(data, { ...still, init: first, out: join(dir, "second") }, quiet);
    const fresh = await train(data, still, quiet);
    try {
      const want = kernel(trained.model);
      kernel(fromInit.model).forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `weight ${i}`));
      assert.ok(kernel(fresh.model).some((v, i) => Math.abs(v - want[i]) > 1e-3), "a fresh run differs");
      const recorded = (await loadKeypointModel(join(dir, "second"))).metadata.training?.initFrom;
      assert.deepEqual(recorded, {
        dir: first,
        savedAt: trained.metadata.savedAt,
        data: data.train.name,
      });
    } finally {
      [trained.model, fromInit.model, fresh.model].forEach((m) => m.dispose());
    }
    await assert.rejects(
      checkInitModel(first, "lenet"),
      (e) => e instanceof DataError && /metadata\.json.*holds a tiny model; training lenet/.test(e.message),
    );
    await assert.rejects(
      train(data, { ...still, model: "lenet", build: undefined, init: first }, quiet),
      DataError,
    );
  });
});

Deno.test("train: init from a model of the same data split another way warns; the same split does not", async () => {
  await withTempDir(async (dir) => {
    const one = syntheticDataset({ n: 40, seed: 2 }), first = join(dir, "first");
    const cfg = { ...base, epochs: 1, validation: 0.25, seed: 7 };
    (await train(one, { ...cfg, out: first }, quiet)).model.dispose();
    const warnings: string[] = [], warn = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
    try {
      for (const seed of [7, 8]) (await train(one, { ...cfg, seed, init: first }, quiet)).model.dispose();
    } finally {
      console.warn = warn;
    }
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], /split with seed 7, validation 0\.25: this run's validation faces may be/);
  });
});

Deno.test("train: checkpoints are written atomically and a resumed run continues exactly", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "run");
    const cfg = { ...base, augment: undefined, earlyStopping: 0 };
    const first = await train(data, { ...cfg, epochs: 2, out }, quiet);
    first.model.dispose();
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["run"]); // no temporary folder left
    assert.deepEqual(
      [...Deno.readDirSync(out)].map((e) => e.name).sort(),
      ["checkpoint", "history.json", "metadata.json", "model.json", "weights.bin"],
    );
    assert.deepEqual(
      [...Deno.readDirSync(join(out, "checkpoint"))].map((e) => e.name).sort(),
      ["model.json", "optimizer.bin", "optimizer.json", "state.json", "weights.bin"],
    );
    const meta = JSON.parse(Deno.readTextFileSync(join(out, "metadata.json")));
    assert.equal(meta.model, "tiny");
    assert.equal(meta.training.data.train, 36);
    assert.equal(meta.training.backend, "cpu");
    assert.ok(meta.training.secondsPerEpoch > 0);
    assert.ok(Number.isFinite(meta.training.metrics.rmse_px));
    assert.equal(JSON.parse(Deno.readTextFileSync(join(out, "history.json"))).length, 2);

    const resumed = await train(data, { ...cfg, epochs: 4, out, resume: true }, quiet);
    assert.equal(resumed.resumedFrom, 2);
    const straight = await train(data, { ...cfg, epochs: 4 }, quiet);
    const losses = (r: typeof resumed) => r.history.map((e) => e.loss);
    assert.equal(resumed.history.length, 4);
    losses(resumed).forEach((l, i) =>
      assert.ok(Math.abs(l - losses(straight)[i]) < 1e-5, `epoch ${i + 1}: ${l} vs ${losses(straight)[i]}`)
    );
    resumed.model.dispose();
    straight.model.dispose();

    const loaded = await loadKeypointModel(out);
    assert.equal((await loaded.predict(data.validation.images.subarray(0, 2 * 96 * 96), 2)).length, 60);
    loaded.model.dispose();

    await assert.rejects(
      train(data, { ...cfg, model: "lenet", build: undefined, epochs: 5, out, resume: true }, quiet),
      (e: unknown) => e instanceof UsageError && /checkpoint of model "tiny"/.test(e.message),
    );
  });
});

Deno.test("train: an exploding loss stops with a clear message and keeps the last good checkpoint", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "run");
    const first = await train(data, { ...base, epochs: 1, out }, quiet);
    first.model.dispose();
    const before = tf.memory().numTensors;
    const poison = (ds: KeypointDataset): KeypointDataset => ({
      ...ds,
      keypoints: ds.keypoints.map((v) => (Number.isNaN(v) ? v : 1e17)),
    });
    let ended = "";
    await assert.rejects(
      train({ train: poison(data.train), validation: data.validation }, {
        ...base,
        epochs: 3,
        out,
        resume: true,
      }, {
        onEnd: (e) => (ended = e.reason),
      }),
      (e: unknown) =>
        e instanceof TrainingDivergedError && e.message.includes("epoch 2, batch 1") &&
        e.message.includes("last good checkpoint (epoch 1)"),
    );
    assert.equal(ended, "diverged");
    assert.equal(tf.memory().numTensors, before);
    const state = JSON.parse(Deno.readTextFileSync(join(out, "checkpoint", "state.json")));
    assert.equal(state.epoch, 1);
    const loaded = await loadKeypointModel(out);
    loaded.model.dispose();
  });
});

Deno.test("resolveConfig: defaults, and a UsageError naming each out-of-range option", () => {
  const cfg = resolveConfig({});
  assert.equal(cfg.model, "lenet");
  assert.equal(cfg.lr, 1e-3);
  assert.ok(cfg.augment !== null);
  for (
    const [bad, name] of [
      [{ epochs: 0 }, "epochs"],
      [{ batchSize: 2.5 }, "batchSize"],
      [{ validation: 1 }, "validation"],
      [{ lr: -1 }, "lr"],
      [{ model: "vgg" }, "vgg"],
      [{ resume: true }, "resume"],
    ] as const
  ) {
    assert.throws(
      () => resolveConfig(bad as Partial<TrainConfig>),
      (e: unknown) => e instanceof UsageError && e.message.includes(name),
    );
  }
});

Deno.test("prepareData: drop-incomplete keeps only complete faces; a split keeps people apart", () => {
  const ds = syntheticDataset({ n: 60, seed: 2 });
  const complete = completeOnly(ds).n;
  const sets = prepareData(ds, { completeOnly: true, validation: 0.25, seed: 0 });
  assert.equal(sets.train.n + sets.validation.n, complete);
  assert.ok(complete < 60);
  const all = prepareData(ds, { completeOnly: false, validation: 0.25, seed: 0 });
  const trainPeople = new Set(all.train.groups);
  assert.ok(all.validation.groups!.every((g) => !trainPeople.has(g)));
});

Deno.test("terminalProgress: one line per epoch off a TTY, redrawn \\r lines on a TTY", () => {
  const info = {
    model: "m",
    epochs: 2,
    startEpoch: 1,
    batchesPerEpoch: 2,
    trainSize: 4,
    validationSize: 2,
    backend: "cpu",
  };
  const record = {
    epoch: 1,
    loss: 0.1,
    train_rmse_px: 15,
    val_rmse_px: 3.2,
    val_nme: 0.1,
    val_pck_10: 0.5,
    lr: 1e-3,
    seconds: 2,
    images_per_sec: 2,
  };
  const batch = { epoch: 1, batch: 2, batches: 2, loss: 0.1, imagesPerSec: 2, seconds: 2 };
  for (const tty of [false, true]) {
    let text = "";
    const p = terminalProgress({ tty, write: (t) => (text += t) });
    p.onStart!(info);
    p.onBatch!(batch);
    p.onEpoch!(record, info);
    p.onEnd!({ reason: "epochs", bestEpoch: 1, bestValRmse: 3.2 });
    assert.ok(text.includes("epoch 1/2") && text.includes("val 3.200 px"), text);
    assert.equal(text.includes("\r"), tty);
    if (tty) assert.ok(text.includes("img/s  left 2s"), text);
  }
  const nb = notebookProgress(); // outside a notebook: does nothing, never throws
  nb.onStart!(info);
  nb.onEpoch!(record, info);
});

const cli = async (script: string, ...args: string[]) => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
};

Deno.test("cli: bad input exits with code 2 and one clear line", async () => {
  const bad = await cli("cli/train.ts", "--model", "vgg", "--data", "synthetic");
  assert.equal(bad.code, 2);
  assert.ok(bad.stderr.includes('error: --model: unknown value "vgg"'), bad.stderr);
  const missing = await cli(
    "cli/evaluate.ts",
    "--model",
    "/nonexistent/model",
    "--data",
    "synthetic:4",
    "--backend",
    "cpu",
  );
  assert.equal(missing.code, 2);
  assert.ok(missing.stderr.includes("no such model folder"), missing.stderr);
});

Deno.test("cli: train then evaluate --json on a few synthetic faces", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "lenet");
    const t = await cli(
      "cli/train.ts",
      ...[
        "--model",
        "lenet",
        "--data",
        "synthetic:12",
        "--epochs",
        "1",
        "--batch",
        "6",
        "--validation",
        "0.25",
      ],
      ...["--backend", "wasm", "--out", out],
    );
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /\| lenet \(validation\) \| \d+ \| \d+\.\d+ \|/);
    // Nine training faces are too few for an annotation convention: none is written, and it says so.
    assert.match(t.stdout, /Not calibrated: fewer than 50 training faces/);
    // The model records the command that trained it.
    const meta = JSON.parse(await Deno.readTextFile(join(out, "metadata.json")));
    assert.equal(
      meta.training.config.command,
      `deno task train --model lenet --data synthetic:12 --epochs 1 --batch 6 --validation 0.25 --backend wasm --out ${out}`,
    );
    const e = await cli(
      "cli/evaluate.ts",
      "--model",
      out,
      "--data",
      "synthetic:5",
      "--json",
      "--backend",
      "wasm",
    );
    assert.equal(e.code, 0, e.stderr);
    const metrics = JSON.parse(e.stdout);
    assert.equal(metrics.n, 5);
    assert.ok(metrics.rmse_px > 0 && "left_eye_center" in metrics.per_keypoint_rmse_px);
    assert.deepEqual(metrics.conventions, { synthetic: "none" });
    assert.equal(meta.calibration, undefined);
  });
});

Deno.test("train: a folder holding a model is refused unless resumed or overwritten", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "run");
    (await train(data, { ...base, epochs: 2, out }, quiet)).model.dispose();
    const trained = await Deno.readFile(join(out, "weights.bin"));
    await assert.rejects(
      train(data, { ...base, seed: 8, epochs: 1, out }, quiet),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message === `${out} already holds a run of tiny (epoch 2): pass --resume to continue it, ` +
            "--overwrite to replace it, or another --out",
    );
    assert.deepEqual(await Deno.readFile(join(out, "weights.bin")), trained, "the trained model is intact");
    (await train(data, { ...base, seed: 8, epochs: 1, out, overwrite: true }, quiet)).model.dispose();
    assert.notDeepEqual(await Deno.readFile(join(out, "weights.bin")), trained);

    // The command line says so before loading any data.
    const c = await cli("cli/train.ts", "--model", "lenet", "--data", "synthetic:4", "--out", out);
    assert.equal(c.code, 2, c.stderr);
    assert.match(c.stderr.trim(), /^error: .* already holds a run of tiny \(epoch 1\): pass --resume/);
    assert.equal(c.stderr.trim().split("\n").length, 1, c.stderr);
  });
});

Deno.test("train: two runs into one folder: the second is refused while the first holds the lock", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "run");
    const runs = await Promise.allSettled([
      train(data, { ...base, epochs: 2, out }, quiet),
      train(data, { ...base, seed: 9, epochs: 2, out }, quiet),
    ]);
    const done = runs.filter((r) => r.status === "fulfilled");
    const refused = runs.filter((r) => r.status === "rejected");
    assert.deepEqual([done.length, refused.length], [1, 1]);
    done.forEach((r) => r.value.model.dispose());
    const reason = refused[0].reason;
    assert.ok(
      reason instanceof UsageError && /is in use by another training run \(pid \d+/.test(reason.message),
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["run"], "lock released, no leftovers");

    // A lock left by a process that has ended (SIGKILL) is taken over.
    const ended = new Deno.Command("true").spawn();
    await ended.status;
    const lock = join(dir, "run.lock");
    await Deno.writeTextFile(lock, JSON.stringify({ pid: ended.pid, host: hostname(), since: "" }));
    (await train(data, { ...base, epochs: 1, out, overwrite: true }, quiet)).model.dispose();
    await assert.rejects(Deno.stat(lock), Deno.errors.NotFound);
  });
});

/** Mounts a tmpfs at `dir` with `options` (e.g. "size=400k", "ro"); false where mounting is not allowed. */
async function mountTmpfs(dir: string, options: string): Promise<boolean> {
  await Deno.mkdir(dir, { recursive: true });
  const { code } = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", options, "tmpfs", dir],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => ({ code: -1 }));
  return code === 0;
}

async function unmount(dir: string): Promise<void> {
  await new Deno.Command("umount", { args: [dir], stdout: "null", stderr: "null" }).output();
}

Deno.test("train, predict: an --out that is a file or read-only fails before any work, in one line", async () => {
  await withTempDir(async (dir) => {
    let batches = 0;
    const counting = { onBatch: () => void batches++ };
    const file = join(dir, "notes.txt");
    await Deno.writeTextFile(file, "mine\n");
    await assert.rejects(
      train(data, { ...base, epochs: 1, out: file }, counting),
      (e: unknown) =>
        e instanceof UsageError && e.message === `${file} is a file, not a run folder: pass another --out`,
    );
    assert.equal(await Deno.readTextFile(file), "mine\n");

    const readOnly = join(dir, "ro");
    if (!(await mountTmpfs(readOnly, "ro,size=64k"))) {
      return console.warn("mount not allowed: read-only case skipped");
    }
    try {
      await assert.rejects(
        train(data, { ...base, epochs: 1, out: join(readOnly, "run") }, counting),
        (e: unknown) =>
          e instanceof OutputError && /^cannot write in .*ro: Read-only file system/.test(e.message),
      );
      const c = await cli(
        "cli/train.ts",
        "--model",
        "lenet",
        "--data",
        "synthetic:4",
        "--out",
        join(readOnly, "run"),
      );
      assert.equal(c.code, 1, c.stderr);
      assert.match(c.stderr.trim(), /^error: cannot write in .*ro: Read-only file system[^\n]*$/);
      const portrait = new URL("../data/portraits/astronaut.png", import.meta.url).pathname;
      const p = await cli("cli/predict.ts", "--out", join(readOnly, "predictions"), portrait);
      assert.equal(p.code, 1, p.stderr);
      assert.match(p.stderr.trim(), /^error: cannot write in .*predictions: Read-only file system[^\n]*$/);
    } finally {
      await unmount(readOnly);
    }
    assert.equal(batches, 0);
  });
});

Deno.test("train: a disk that fills up mid-run stops with one line and keeps the last saved epoch", async () => {
  await withTempDir(async (dir) => {
    const disk = join(dir, "disk");
    // One checkpoint of the tiny model takes ≈270 KiB; replacing it needs room for two.
    if (!(await mountTmpfs(disk, "size=400k"))) return console.warn("mount not allowed: test skipped");
    try {
      const out = join(disk, "run");
      await assert.rejects(
        train(data, { ...base, epochs: 3, out }, quiet),
        (e: unknown) =>
          e instanceof OutputError &&
          /^cannot save epoch 2: No space left on device.*; .*run keeps epoch 1$/.test(e.message),
      );
      const state = JSON.parse(await Deno.readTextFile(join(out, "checkpoint", "state.json")));
      assert.equal(state.epoch, 1);
      assert.deepEqual([...Deno.readDirSync(disk)].map((e) => e.name), ["run"], "no temporary folder left");
      (await loadKeypointModel(out)).model.dispose();
    } finally {
      await unmount(disk);
    }
  });
});

Deno.test("train: a run resumed after epoch 1 or 3 equals an uninterrupted one bit for bit", async () => {
  await withTempDir(async (dir) => {
    const cfg = { ...base, augment: undefined, earlyStopping: 0 };
    const straight = await train(data, { ...cfg, epochs: 5 }, quiet);
    const weightsOf = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
    for (const stopAt of [1, 3]) {
      const out = join(dir, `run${stopAt}`);
      (await train(data, { ...cfg, epochs: stopAt, out }, quiet)).model.dispose();
      const resumed = await train(data, { ...cfg, epochs: 5, out, resume: true }, quiet);
      assert.equal(resumed.resumedFrom, stopAt);
      assert.deepEqual(resumed.history.map((e) => e.loss), straight.history.map((e) => e.loss));
      assert.equal(resumed.bestEpoch, straight.bestEpoch);
      assert.deepEqual(weightsOf(resumed.model), weightsOf(straight.model), `resumed after epoch ${stopAt}`);
      resumed.model.dispose();
    }
    straight.model.dispose();
  });
});

Deno.test("train --resume: a damaged checkpoint file is refused, naming it, and left as it was", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "run");
    (await train(data, { ...base, epochs: 1, out }, quiet)).model.dispose();
    for (const name of ["optimizer.bin", "weights.bin"]) {
      const file = join(out, "checkpoint", name);
      const good = await Deno.readFile(file);
      const damaged = good.slice(0, good.length - 100);
      await Deno.writeFile(file, damaged);
      await assert.rejects(
        train(data, { ...base, epochs: 2, out, resume: true }, quiet),
        (e: unknown) =>
          e instanceof DataError && e.message.startsWith(`${file}: holds ${damaged.length} bytes`),
      );
      assert.deepEqual(await Deno.readFile(file), damaged);
      await Deno.writeFile(file, good);
    }
    (await train(data, { ...base, epochs: 2, out, resume: true }, quiet)).model.dispose();
  });
});

Deno.test("train: selectBy picks the epoch with the best validation RMSE or NME, or the last", async () => {
  // Cosine: the schedule does not depend on the score, so the runs train the same weights.
  const cfg = { ...base, seed: 3, epochs: 8, schedule: "cosine" as const, earlyStopping: 0 };
  const byRmse = await train(data, { ...cfg, selectBy: "rmse" }, quiet);
  const byNme = await train(data, { ...cfg, selectBy: "nme" }, quiet);
  const last = await train(data, { ...cfg, selectBy: "last" }, quiet);
  assert.equal(last.bestEpoch, 8);
  assert.equal(last.metrics.nme, last.history[7].val_nme);
  assert.notEqual(byNme.bestEpoch, 8, "this run's last epoch should not be its best");
  last.model.dispose();
  const h = byNme.history;
  assert.deepEqual(byRmse.history.map((r) => r.val_nme), h.map((r) => r.val_nme));
  const argmin = (key: "val_rmse_px" | "val_nme") =>
    h.reduce((b, r) => (r[key] < h[b - 1][key] ? r.epoch : b), 1);
  assert.notEqual(argmin("val_nme"), argmin("val_rmse_px"), "this run should tell the two apart");
  assert.equal(byRmse.bestEpoch, argmin("val_rmse_px"));
  assert.equal(byNme.bestEpoch, argmin("val_nme"));
  assert.equal(byNme.metrics.nme, h[byNme.bestEpoch - 1].val_nme);
  byRmse.model.dispose();
  byNme.model.dispose();
});

Deno.test("cli: --recipe takes the model's recipe where an option is not given", async () => {
  await withTempDir(async (dir) => {
    const configOf = async (...extra: string[]) => {
      const out = join(dir, `run${extra.length}`);
      const common = ["--model", "lenet", "--data", "synthetic:12", "--batch", "6", "--validation", "0.25"];
      const t = await cli(
        "cli/train.ts",
        ...common,
        "--epochs",
        "1",
        "--backend",
        "wasm",
        "--out",
        out,
        ...extra,
      );
      assert.equal(t.code, 0, t.stderr);
      return JSON.parse(await Deno.readTextFile(join(out, "metadata.json"))).training.config;
    };
    const recipe = recipeOf("lenet");
    const withRecipe = await configOf("--recipe");
    assert.deepEqual(
      [withRecipe.schedule, withRecipe.minLr, withRecipe.earlyStopping, withRecipe.loss, withRecipe.epochs],
      [recipe.schedule, recipe.minLr, recipe.patience, recipe.loss, 1],
    );
    // Without --recipe the defaults; a given option wins over the recipe.
    const plain = await configOf();
    assert.deepEqual([plain.schedule, plain.minLr, plain.earlyStopping], ["plateau", 1e-6, 8]);
    const overridden = await configOf("--recipe", "--schedule", "plateau");
    assert.deepEqual([overridden.schedule, overridden.minLr], ["plateau", recipe.minLr]);
  });
});

Deno.test("train: selecting by NME without outer eye corners in the validation faces is a DataError", async () => {
  const noCorners = {
    ...data.validation,
    keypoints: data.validation.keypoints.slice(),
    mask: data.validation.mask.slice(),
  };
  for (let f = 0; f < noCorners.n; f++) {
    for (const c of [6, 7, 10, 11]) { // x, y of left_eye_outer_corner (3) and right_eye_outer_corner (5)
      noCorners.keypoints[f * 30 + c] = NaN;
      noCorners.mask[f * 30 + c] = 0;
    }
  }
  const sets = { train: data.train, validation: noCorners };
  await assert.rejects(
    () => train(sets, { ...base, epochs: 1, selectBy: "nme" }, quiet),
    (e: Error) =>
      e instanceof DataError && /lack both outer eye corners \(select by rmse instead\)/.test(e.message),
  );
  const byRmse = await train(sets, { ...base, epochs: 1, selectBy: "rmse" }, quiet);
  byRmse.model.dispose();
});
