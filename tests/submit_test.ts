import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { KEYPOINT_COLUMNS } from "../lib/core/constants.ts";
import { syntheticDataset } from "../lib/data/synthetic.ts";
import { loadKeypointModel } from "../lib/models/folder_io.ts";
import { findLookupTable } from "../lib/submission_io.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MODEL = join(ROOT, "outputs", "models", "default");
const REAL_LOOKUP = join(ROOT, "..", "shared", "data", "kaggle", "IdLookupTable.csv");

/** A Kaggle-format test.csv (`ImageId,Image`) of synthetic faces, ImageIds 1..n. */
function testCsv(n: number): { text: string; images: Float32Array } {
  const ds = syntheticDataset({ n, seed: 9 });
  const rows = Array.from({ length: n }, (_, i) => {
    const pixels = Array.from(ds.images.subarray(i * 9216, (i + 1) * 9216), (v) => Math.round(v * 255));
    return `${i + 1},${pixels.join(" ")}`;
  });
  // Kaggle's file stores the pixels as 0–255 integers: read back they are v/255.
  const images = ds.images.map((v) => Math.round(v * 255) / 255);
  return { text: `ImageId,Image\n${rows.join("\n")}\n`, images };
}

/** A lookup table like Kaggle's: every feature of image 1, a few of image 2, the eye centres of image 3. */
function lookupCsv(): { text: string; rows: [number, number, string][] } {
  const wanted: [number, string[]][] = [
    [1, [...KEYPOINT_COLUMNS]],
    [2, ["left_eye_center_x", "nose_tip_y", "mouth_center_bottom_lip_x", "mouth_center_bottom_lip_y"]],
    [3, ["left_eye_center_x", "left_eye_center_y", "right_eye_center_x", "right_eye_center_y"]],
  ];
  const rows: [number, number, string][] = [];
  for (const [image, features] of wanted) for (const f of features) rows.push([rows.length + 1, image, f]);
  const text = `RowId,ImageId,FeatureName,Location\n${rows.map((r) => `${r.join(",")},`).join("\n")}\n`;
  return { text, rows };
}

async function submit(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "cli", "submit.ts"), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("deno task submit: one row per lookup row, in its order, with the model's predictions", async () => {
  const dir = await Deno.makeTempDir({ prefix: "submit_test_" });
  try {
    const test = testCsv(3);
    const lookup = lookupCsv();
    await Deno.writeTextFile(join(dir, "test.csv"), test.text);
    await Deno.writeTextFile(join(dir, "IdLookupTable.csv"), lookup.text);
    const out = join(dir, "submission.csv");
    const run = await submit([
      "--model",
      MODEL,
      "--test",
      join(dir, "test.csv"),
      "--out",
      out,
      "--lookup",
      join(dir, "IdLookupTable.csv"),
      "--backend",
      "cpu",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /3 test faces → 38 rows/);

    const [header, ...lines] = (await Deno.readTextFile(out)).trimEnd().split("\n");
    assert.equal(header, "RowId,Location");
    assert.equal(lines.length, lookup.rows.length);
    await tf.setBackend("cpu");
    const model = await loadKeypointModel(MODEL);
    const predicted = await model.predict(test.images, 3);
    model.model.dispose();
    lines.forEach((line, r) => {
      const [rowId, location] = line.split(",");
      const [wantRow, image, feature] = lookup.rows[r];
      assert.equal(Number(rowId), wantRow);
      const v = Number(location);
      assert.ok(v >= 0 && v <= 96, `row ${rowId}: ${location} outside [0, 96]`);
      const expected = predicted[(image - 1) * 30 + KEYPOINT_COLUMNS.indexOf(feature)];
      assert.ok(
        Math.abs(v - Math.min(96, Math.max(0, expected))) < 1e-3,
        `row ${rowId}: ${v} vs ${expected}`,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task submit: bad input exits 2 with one clear line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "submit_test_" });
  try {
    await Deno.writeTextFile(join(dir, "test.csv"), testCsv(1).text);
    // Image 2 is asked for but not in test.csv.
    await Deno.writeTextFile(
      join(dir, "lookup.csv"),
      "RowId,ImageId,FeatureName,Location\n1,1,nose_tip_x,\n2,2,nose_tip_y,\n",
    );
    const args = [
      "--model",
      MODEL,
      "--test",
      join(dir, "test.csv"),
      "--out",
      join(dir, "s.csv"),
      "--backend",
      "cpu",
    ];
    const missing = await submit([...args, "--lookup", join(dir, "lookup.csv")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /lookup\.csv, row 3, column ImageId: no prediction for ImageId "2"/);
    await assert.rejects(() => Deno.stat(join(dir, "s.csv")), Deno.errors.NotFound, "nothing half-written");
    const usage = await submit(["--model", MODEL, "--out", join(dir, "s.csv")]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--test is required/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("findLookupTable: the first place that has it, else where to put it", async () => {
  assert.throws(
    () => findLookupTable(["/nonexistent/IdLookupTable.csv"]),
    /download it from the Kaggle competition/,
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "IdLookupTable.csv"), "RowId,ImageId,FeatureName,Location\n");
    assert.equal(
      findLookupTable(["/nonexistent/x.csv", join(dir, "IdLookupTable.csv")]),
      join(dir, "IdLookupTable.csv"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "the generated lookup table has the real IdLookupTable.csv's columns and feature names",
  ignore: !(await Deno.stat(REAL_LOOKUP).then(() => true, () => false)),
  async fn() {
    const real = (await Deno.readTextFile(REAL_LOOKUP)).split("\n");
    assert.equal(real[0].trim(), lookupCsv().text.split("\n")[0]);
    const features = new Set(real.slice(1).filter(Boolean).map((l) => l.split(",")[2]));
    assert.deepEqual([...features].sort(), [...KEYPOINT_COLUMNS].sort());
  },
});
