import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { writeKaggleCsv } from "../lib/data/kaggle_io.ts";
import {
  DEFAULT_SYNTHETIC_SIZE,
  describeDataset,
  formatDatasetSpec,
  loadDataset,
  parseDatasetSpec,
} from "../lib/data/spec_io.ts";
import { syntheticDataset } from "../lib/data/synthetic.ts";
import { UsageError } from "../lib/core/errors.ts";
import { writeGrayPng } from "../lib/core/image_io.ts";

const YTF68 = fileURLToPath(new URL("../../shared/data/ytf68", import.meta.url));
const haveYtf68 = (() => {
  try {
    return Deno.statSync(`${YTF68}/test_frames_keypoints.csv`).isFile;
  } catch {
    return false;
  }
})();

/** A UsageError that lists the accepted forms and says `found`. */
const usage = (found: string) => (e: unknown) =>
  e instanceof UsageError && e.message.includes("Accepted dataset names") && e.message.includes(found);

/** A temporary folder with one fixture of each layout. */
async function fixtures() {
  const root = await Deno.makeTempDir({ prefix: "spec_test_" });
  const ytf = `${root}/ytf`, pts = `${root}/pts`, empty = `${root}/empty`;
  for (const d of [ytf, pts, empty]) await Deno.mkdir(d);
  const header = ["", ...Array.from({ length: 136 }, (_, i) => i)].join(",");
  await Deno.writeTextFile(`${ytf}/training_frames_keypoints.csv`, header + "\n");
  await Deno.writeTextFile(`${empty}/notes.txt`, "nothing here");
  // A 300-W pair: a 100×100 image and 68 points on a ring (1-based, as the format has them).
  await writeGrayPng(`${pts}/face_01.png`, new Uint8Array(100 * 100).fill(128), 100, 100);
  const points = Array.from({ length: 68 }, (_, i) => {
    const a = (2 * Math.PI * i) / 68;
    return `${(50 + 25 * Math.cos(a)).toFixed(2)} ${(50 + 30 * Math.sin(a)).toFixed(2)}`;
  });
  await Deno.writeTextFile(`${pts}/face_01.pts`, `version: 1\nn_points: 68\n{\n${points.join("\n")}\n}\n`);
  const csv = `${root}/faces.csv`;
  await writeKaggleCsv(csv, syntheticDataset({ n: 3, seed: 1 }));
  return { root, ytf, pts, empty, csv };
}

Deno.test("parseDatasetSpec: synthetic forms", () => {
  assert.deepStrictEqual(parseDatasetSpec("synthetic"), {
    kind: "synthetic",
    n: DEFAULT_SYNTHETIC_SIZE,
    seed: 0,
  });
  assert.deepStrictEqual(parseDatasetSpec("synthetic:250"), { kind: "synthetic", n: 250, seed: 0 });
  assert.deepStrictEqual(parseDatasetSpec(" synthetic:250:7 "), { kind: "synthetic", n: 250, seed: 7 });
  assert.deepStrictEqual(parseDatasetSpec("synthetic:5:-2"), { kind: "synthetic", n: 5, seed: -2 });
  for (
    const bad of [
      "synthetic:",
      "synthetic:abc",
      "synthetic:0",
      "synthetic:-3",
      "synthetic:1.5",
      "synthetic:1e3",
    ]
  ) {
    assert.throws(() => parseDatasetSpec(bad), usage("N must be a positive integer"), bad);
  }
  assert.throws(() => parseDatasetSpec("synthetic:10:x"), usage("SEED must be an integer"));
  assert.throws(() => parseDatasetSpec("synthetic:10:"), usage("SEED must be an integer"));
  assert.throws(() => parseDatasetSpec("synthetic:1:2:3"), usage("too many parts"));
  assert.throws(() => parseDatasetSpec("  "), usage("empty"));
});

Deno.test("parseDatasetSpec: files and folders of each layout, and what is wrong with others", async () => {
  const f = await fixtures();
  try {
    assert.deepStrictEqual(parseDatasetSpec(f.csv), { kind: "kaggle", path: f.csv });
    assert.deepStrictEqual(parseDatasetSpec(f.ytf), { kind: "landmarks68", root: f.ytf, split: "training" });
    assert.deepStrictEqual(parseDatasetSpec(`${f.ytf}/`), {
      kind: "landmarks68",
      root: f.ytf,
      split: "training",
    });
    assert.deepStrictEqual(parseDatasetSpec(`${f.ytf}:training`), {
      kind: "landmarks68",
      root: f.ytf,
      split: "training",
    });
    assert.deepStrictEqual(parseDatasetSpec(`${f.ytf}/training_frames_keypoints.csv`), {
      kind: "landmarks68",
      root: f.ytf,
      split: "training",
    });
    assert.deepStrictEqual(parseDatasetSpec(f.pts), { kind: "pts", dir: f.pts });

    assert.throws(() => parseDatasetSpec(`${f.ytf}:test`), usage("found training_frames_keypoints.csv"));
    assert.throws(() => parseDatasetSpec(`${f.pts}:training`), usage("300-W folder"));
    assert.throws(() => parseDatasetSpec(`${f.csv}:test`), usage("is a file"));
    assert.throws(() => parseDatasetSpec(`${f.pts}/face_01.png`), usage("not a .csv"));
    assert.throws(() => parseDatasetSpec(f.empty), usage("notes.txt"));
    assert.throws(() => parseDatasetSpec(`${f.root}/missing.csv`), usage("no file or folder"));
    assert.throws(() => parseDatasetSpec(`${f.root}/nowhere:test`), usage(`"${f.root}/nowhere"`));
    assert.throws(() => parseDatasetSpec(`${f.ytf}:validation`), usage("no file or folder"));
  } finally {
    await Deno.remove(f.root, { recursive: true });
  }
});

Deno.test("formatDatasetSpec names what parseDatasetSpec parses", () => {
  for (const text of ["synthetic:1000", "synthetic:20:3"]) {
    assert.equal(formatDatasetSpec(parseDatasetSpec(text)), text);
  }
  assert.equal(formatDatasetSpec({ kind: "landmarks68", root: "data/ytf", split: "test" }), "data/ytf:test");
  assert.equal(formatDatasetSpec({ kind: "kaggle", path: "data/training.csv" }), "data/training.csv");
  assert.equal(formatDatasetSpec({ kind: "pts", dir: "data/300w" }), "data/300w");
});

Deno.test("loadDataset: synthetic, with a limit taking a prefix", async () => {
  const ds = await loadDataset("synthetic:20");
  assert.equal(ds.n, 20);
  assert.equal(ds.synthetic, true);
  assert.equal(ds.name, "synthetic:20 (seed 0)");
  const limited = await loadDataset({ kind: "synthetic", n: 20, seed: 0 }, { limit: 5 });
  assert.equal(limited.n, 5);
  assert.deepStrictEqual(limited.keypoints, ds.keypoints.subarray(0, 5 * 30));
  await assert.rejects(() => loadDataset("synthetic:20", { limit: 0 }), UsageError);
  await assert.rejects(() => loadDataset("synthetic:x"), UsageError);
});

Deno.test("loadDataset: dispatches a Kaggle CSV and a 300-W folder to their readers", async () => {
  const f = await fixtures();
  try {
    const kaggle = await loadDataset(f.csv, { limit: 2 });
    assert.equal(kaggle.n, 2);
    assert.equal(kaggle.synthetic, false);
    const pts = await loadDataset(f.pts, { margin: 0.1 });
    assert.equal(pts.n, 1);
    assert.equal(pts.ids![0], "face_01.png");
  } finally {
    await Deno.remove(f.root, { recursive: true });
  }
});

Deno.test({
  name: "loadDataset: the shared YouTube-Faces folder by name and split",
  ignore: !haveYtf68,
  fn: async () => {
    const ds = await loadDataset(`${YTF68}:test`, { limit: 3 });
    assert.equal(ds.n, 3);
    assert.equal(ds.synthetic, false);
    assert.equal(ds.groups!.length, 3);
  },
});

Deno.test("describeDataset: faces, complete rows, groups, missing keypoints, synthetic label", () => {
  const ds = syntheticDataset({ n: 50, seed: 2 });
  const text = describeDataset(ds);
  const complete = Array.from({ length: 50 }, (_, i) => ds.mask.subarray(i * 30, i * 30 + 30).every((m) => m))
    .filter(Boolean).length;
  assert.match(text, /^synthetic:50 \(seed 2\) \[SYNTHETIC/);
  assert.match(text, new RegExp(`50 faces of 96×96; ${complete} complete`));
  assert.match(text, new RegExp(`${new Set(ds.groups).size} groups`));
  assert.match(text, new RegExp(`left_eye_inner_corner +${50 - complete - countPartial(ds, 2)} `));
  assert.doesNotMatch(text, /left_eye_center \d/);
  const full = describeDataset(syntheticDataset({ n: 5, missingRate: 0 }));
  assert.match(full, /5 complete \(100\.0%\)/);
  assert.match(full, /missing: none/);
  assert.doesNotMatch(describeDataset({ ...ds, synthetic: false }), /SYNTHETIC/);
});

/** Faces that are incomplete yet still have keypoint k. */
function countPartial(ds: ReturnType<typeof syntheticDataset>, k: number): number {
  let c = 0;
  for (let i = 0; i < ds.n; i++) {
    const row = ds.mask.subarray(i * 30, i * 30 + 30);
    if (row.includes(0) && row[2 * k] === 1) c++;
  }
  return c;
}
