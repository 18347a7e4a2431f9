import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { KEYPOINT_COLUMNS, NUM_COORDS } from "../lib/core/constants.ts";
import { PIXELS } from "../lib/core/constants.ts";
import {
  _float32String,
  readKaggleCsv,
  readKaggleLabels,
  writeKaggleCsv,
  writeSubmission,
} from "../lib/data/kaggle_io.ts";
import type { KeypointDataset } from "../lib/data/types.ts";
import { DataError, UsageError } from "../lib/core/errors.ts";
import { Rng } from "../lib/core/rng.ts";

const SHARED = fileURLToPath(new URL("../../shared/data/kaggle/", import.meta.url));
const LOOKUP = `${SHARED}IdLookupTable.csv`;
const SAMPLE = `${SHARED}SampleSubmission.csv`;
const LABELS = `${SHARED}facial_keypoints_labels_only.csv`;
const hasShared = (() => {
  try {
    return [LOOKUP, SAMPLE, LABELS].every((p) => Deno.statSync(p).isFile);
  } catch {
    return false;
  }
})();

/** A small Kaggle-like dataset: integer pixel levels, keypoints with Kaggle-like decimals, some missing. */
function fixture(n: number, seed = 1): KeypointDataset {
  const rng = new Rng(seed);
  const images = new Float32Array(n * PIXELS);
  for (let i = 0; i < images.length; i++) images[i] = rng.int(256) / 255;
  const keypoints = new Float32Array(n * NUM_COORDS);
  for (let i = 0; i < keypoints.length; i++) keypoints[i] = Number(rng.uniform(0, 96).toFixed(10));
  // Row 1 misses its last 22 coordinates (like most Kaggle rows); row 2 misses one value.
  for (let c = 8; c < NUM_COORDS && n > 1; c++) keypoints[NUM_COORDS + c] = NaN;
  if (n > 2) keypoints[2 * NUM_COORDS + 5] = NaN;
  const mask = keypoints.map((v) => (Number.isNaN(v) ? 0 : 1));
  return { name: "fixture", synthetic: false, n, images, keypoints, mask: Uint8Array.from(mask) };
}

function pixelText(n: number, value = 7): string {
  return Array.from({ length: n }, (_, i) => (i * value) % 256).join(" ");
}

function assertSameArrays(a: KeypointDataset, b: KeypointDataset): void {
  assert.equal(a.n, b.n);
  assert.deepEqual(a.images, b.images);
  assert.deepEqual(a.keypoints, b.keypoints); // NaN equals NaN here (SameValue)
  assert.deepEqual(a.mask, b.mask);
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kaggle_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes a CSV from a header and rows of fields. */
async function writeCsv(path: string, header: string[], rows: string[][], eol = "\n"): Promise<void> {
  await Deno.writeTextFile(path, [header, ...rows].map((r) => r.join(",")).join(eol) + eol);
}

/** A valid training row in KEYPOINT_COLUMNS order + Image, as fields. */
function trainingRow(seed: number): string[] {
  return [...KEYPOINT_COLUMNS.map((_, c) => `${(seed * 3 + c) % 90}.25`), pixelText(PIXELS, seed)];
}

const TRAIN_HEADER = [...KEYPOINT_COLUMNS, "Image"];

Deno.test("_float32String gives the shortest text that reads back as the same float32", () => {
  for (const v of [66.0335639098, 0.1, 1e-7, 95.99999, 100, 0, 48]) {
    const f = Math.fround(v);
    const s = _float32String(f);
    assert.equal(Math.fround(Number(s)), f);
    assert.ok(s.length <= 12, s);
  }
  assert.equal(_float32String(Math.fround(66.0335639098)), "66.03356");
  assert.equal(_float32String(100), "100");
});

Deno.test("round trip: read → write → read gives the same arrays", async () => {
  await withTempDir(async (dir) => {
    const ds = fixture(5);
    const a = `${dir}/a.csv`;
    await writeKaggleCsv(a, ds);
    const first = await readKaggleCsv(a);
    assertSameArrays(first, ds);
    assert.equal(first.name, a);
    assert.equal(first.synthetic, false);
    assert.deepEqual(first.ids, ["1", "2", "3", "4", "5"]);
    assert.equal(first.mask[NUM_COORDS + 8], 0);
    assert.ok(Number.isNaN(first.keypoints[NUM_COORDS + 8]));

    const b = `${dir}/b.csv`;
    await writeKaggleCsv(b, first);
    assertSameArrays(await readKaggleCsv(b), first);
    assert.equal(await Deno.readTextFile(b), await Deno.readTextFile(a));
    // Atomic write: no temporary file left behind.
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a.csv", "b.csv"]);

    // The text itself is Kaggle's format: 31 fields, empty cells for missing values, integer pixels.
    const lines = (await Deno.readTextFile(a)).trimEnd().split("\n");
    assert.equal(lines.length, 6);
    assert.equal(lines[0], TRAIN_HEADER.join(","));
    const row2 = lines[2].split(",");
    assert.equal(row2.length, 31);
    assert.equal(row2[8], "");
    assert.equal(row2[30].split(" ").length, PIXELS);
    assert.match(row2[30], /^\d+( \d+)*$/);
  });
});

Deno.test("limit reads only the first rows", async () => {
  await withTempDir(async (dir) => {
    const ds = fixture(4);
    await writeKaggleCsv(`${dir}/a.csv`, ds);
    const two = await readKaggleCsv(`${dir}/a.csv`, { limit: 2 });
    assert.equal(two.n, 2);
    assert.deepEqual(two.images, ds.images.subarray(0, 2 * PIXELS));
    assert.deepEqual(two.keypoints, ds.keypoints.subarray(0, 2 * NUM_COORDS));
    assert.equal((await readKaggleCsv(`${dir}/a.csv`, { limit: 0 })).n, 0);
    await assert.rejects(() => readKaggleCsv(`${dir}/a.csv`, { limit: -1 }), UsageError);
  });
});

Deno.test("test format (ImageId,Image): ids from ImageId, keypoints all missing", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/test.csv`;
    await writeCsv(path, ["ImageId", "Image"], [["7", pixelText(PIXELS, 3)], ["9", pixelText(PIXELS, 5)]]);
    const ds = await readKaggleCsv(path);
    assert.equal(ds.n, 2);
    assert.deepEqual(ds.ids, ["7", "9"]);
    assert.ok(ds.keypoints.every(Number.isNaN));
    assert.ok(ds.mask.every((m) => m === 0));
    assert.equal(ds.images[PIXELS + 1], Math.fround(5 / 255));
    assert.equal(ds.images[PIXELS - 1], Math.fround(((PIXELS - 1) * 3 % 256) / 255));
  });
});

Deno.test("columns are matched by header name, in any order; CRLF, BOM and quotes are accepted", async () => {
  await withTempDir(async (dir) => {
    const rows = [trainingRow(1), trainingRow(2)];
    rows[1][3] = ""; // a missing value
    await writeCsv(`${dir}/plain.csv`, TRAIN_HEADER, rows);
    const plain = await readKaggleCsv(`${dir}/plain.csv`);
    assert.equal(plain.mask[NUM_COORDS + 3], 0);
    assert.equal(plain.keypoints[1], 4.25); // seed 1, column 1: (3 + 1) % 90 + 0.25

    // Reversed column order, an extra column, CRLF line ends, a byte order mark and quoted fields.
    const order = [...TRAIN_HEADER.keys()].reverse();
    const header = ["note", ...order.map((k) => `"${TRAIN_HEADER[k]}"`)];
    const shuffled = rows.map((
      r,
    ) => ['"a, ""quoted"" note"', ...order.map((k) => (k === 0 ? `"${r[k]}"` : r[k]))]);
    await Deno.writeTextFile(
      `${dir}/shuffled.csv`,
      "\ufeff" + [header, ...shuffled].map((r) => r.join(",")).join("\r\n") + "\r\n",
    );
    assertSameArrays(await readKaggleCsv(`${dir}/shuffled.csv`), plain);
    assert.deepEqual((await readKaggleLabels(`${dir}/shuffled.csv`)).keypoints, plain.keypoints);
  });
});

Deno.test("a quoted field may hold commas and newlines; row numbers count the lines", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/quoted.csv`;
    const header = ["ImageId", "note", "Image"];
    const rows = [
      ["1", '"two\nlines, and a comma"', pixelText(PIXELS)],
      ["2", "plain", `${pixelText(PIXELS - 1)} x`],
    ];
    await writeCsv(path, header, rows);
    const err = await readKaggleCsv(path).then(() => undefined, (e) => e);
    assert.ok(err instanceof DataError);
    assert.equal(err.location.row, 4); // header, row 1 spanning lines 2–3, then the bad row on line 4
    rows.pop();
    await writeCsv(path, header, rows);
    const ds = await readKaggleCsv(path);
    assert.equal(ds.n, 1);
    assert.deepEqual(ds.ids, ["1"]);
  });
});

Deno.test("a row longer than the 1 MiB read buffer is read whole", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/long.csv`;
    const long = "x".repeat(3 << 20);
    await writeCsv(path, ["ImageId", "note", "Image"], [["a", long, pixelText(PIXELS)], [
      "b",
      "",
      pixelText(PIXELS, 2),
    ]]);
    const ds = await readKaggleCsv(path);
    assert.deepEqual(ds.ids, ["a", "b"]);
    assert.equal(ds.images[PIXELS + 1], Math.fround(2 / 255));
  });
});

Deno.test("readKaggleLabels reads the keypoint columns with or without Image", async () => {
  await withTempDir(async (dir) => {
    const ds = fixture(3);
    await writeKaggleCsv(`${dir}/train.csv`, ds);
    const labels = await readKaggleLabels(`${dir}/train.csv`);
    assert.equal(labels.n, 3);
    assert.deepEqual(labels.keypoints, ds.keypoints);
    assert.deepEqual(labels.mask, ds.mask);
    await writeCsv(`${dir}/labels.csv`, [...KEYPOINT_COLUMNS], [trainingRow(1).slice(0, 30)]);
    assert.equal((await readKaggleLabels(`${dir}/labels.csv`)).keypoints[29], (3 + 29) % 90 + 0.25);
    await writeCsv(`${dir}/test.csv`, ["ImageId", "Image"], [["1", pixelText(PIXELS)]]);
    await assert.rejects(() => readKaggleLabels(`${dir}/test.csv`), DataError);
  });
});

/** Each bad input must fail with a DataError naming the file, the row (and column where one is at fault). */
const BAD_INPUTS: {
  name: string;
  header: string[];
  rows: string[][];
  row: number;
  column?: string;
  says: RegExp;
}[] = [
  {
    name: "missing Image column",
    header: [...KEYPOINT_COLUMNS],
    rows: [trainingRow(1).slice(0, 30)],
    row: 1,
    column: "Image",
    says: /missing column Image/,
  },
  {
    name: "unknown layout",
    header: ["Id", "Image"],
    rows: [["1", pixelText(PIXELS)]],
    row: 1,
    says: /unknown layout/,
  },
  {
    name: "some keypoint columns missing",
    header: [...KEYPOINT_COLUMNS.slice(0, 29), "Image"],
    rows: [trainingRow(1).slice(1)],
    row: 1,
    column: "mouth_center_bottom_lip_y",
    says: /missing keypoint column\(s\) mouth_center_bottom_lip_y/,
  },
  {
    name: "too few pixels",
    header: TRAIN_HEADER,
    rows: [trainingRow(1), [...trainingRow(2).slice(0, 30), pixelText(PIXELS - 1)]],
    row: 3,
    column: "Image",
    says: /found 9215 pixel values, expected 9216/,
  },
  {
    name: "too many pixels",
    header: TRAIN_HEADER,
    rows: [[...trainingRow(2).slice(0, 30), pixelText(PIXELS + 2)]],
    row: 2,
    column: "Image",
    says: /found 9218 pixel values/,
  },
  {
    name: "non-numeric pixel",
    header: TRAIN_HEADER,
    rows: [[...trainingRow(1).slice(0, 30), pixelText(PIXELS).replace(/^(\d+ \d+ )\d+/, "$1abc")]],
    row: 2,
    column: "Image",
    says: /pixel value "abc" at position 3 is not a number/,
  },
  {
    name: "out-of-range pixel",
    header: TRAIN_HEADER,
    rows: [trainingRow(1), trainingRow(2), [...trainingRow(3).slice(0, 30), `${pixelText(PIXELS - 1)} 256`]],
    row: 4,
    column: "Image",
    says: /pixel value "256" at position 9216 is outside 0\.\.255/,
  },
  {
    name: "negative pixel",
    header: TRAIN_HEADER,
    rows: [[...trainingRow(1).slice(0, 30), `-1 ${pixelText(PIXELS - 1)}`]],
    row: 2,
    column: "Image",
    says: /pixel value "-1" at position 1 is outside 0\.\.255/,
  },
  {
    name: "non-numeric keypoint",
    header: TRAIN_HEADER,
    rows: [trainingRow(1), trainingRow(2).map((f, c) => (c === 4 ? "4o.5" : f))],
    row: 3,
    column: "left_eye_inner_corner_x",
    says: /keypoint value "4o\.5" is not a number/,
  },
  {
    name: "wrong number of fields",
    header: TRAIN_HEADER,
    rows: [trainingRow(1), trainingRow(2).slice(1)],
    row: 3,
    says: /expected 31 fields, found 30/,
  },
  {
    name: "one field too many (keypoint side)",
    header: TRAIN_HEADER,
    rows: [[...trainingRow(1).slice(0, 2), "7", ...trainingRow(1).slice(2)]],
    row: 2,
    says: /expected 31 fields, found 32/,
  },
  {
    name: "one field too many (a trailing comma)",
    header: TRAIN_HEADER,
    rows: [trainingRow(1), [...trainingRow(2), ""]],
    row: 3,
    says: /expected 31 fields, found 32/,
  },
  {
    name: "empty ImageId",
    header: ["ImageId", "Image"],
    rows: [["", pixelText(PIXELS)]],
    row: 2,
    column: "ImageId",
    says: /empty ImageId/,
  },
];

for (const bad of BAD_INPUTS) {
  Deno.test(`bad input → DataError naming file and row: ${bad.name}`, async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/bad.csv`;
      await writeCsv(path, bad.header, bad.rows);
      const err = await readKaggleCsv(path).then(() => undefined, (e) => e);
      assert.ok(err instanceof DataError, `expected a DataError, got ${err}`);
      assert.equal(err.location.file, path);
      assert.equal(err.location.row, bad.row);
      assert.equal(err.location.column, bad.column);
      assert.ok(err.message.includes(path) && err.message.includes(`row ${bad.row}`), err.message);
      assert.match(err.message, bad.says);
    });
  });
}

Deno.test("a missing file is a DataError naming it", async () => {
  await assert.rejects(() => readKaggleCsv("/nonexistent/training.csv"), (e: Error) => {
    assert.ok(e instanceof DataError);
    assert.match(e.message, /\/nonexistent\/training\.csv: file not found/);
    return true;
  });
});

Deno.test("writeKaggleCsv refuses pixels outside [0, 1] and leaves no file", async () => {
  await withTempDir(async (dir) => {
    const ds = fixture(2);
    ds.images[PIXELS + 10] = 1.5;
    await assert.rejects(
      () => writeKaggleCsv(`${dir}/x.csv`, ds),
      (e: unknown) => e instanceof DataError && /face 1: pixel 10 is 1\.5/.test(e.message),
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

/** Predictions that make each value easy to check: face i, coordinate c → i/10 + c − 3 (some clip at 0). */
function fabricatedPredictions(n: number): Float32Array {
  const p = new Float32Array(n * NUM_COORDS);
  for (let i = 0; i < n; i++) for (let c = 0; c < NUM_COORDS; c++) p[i * NUM_COORDS + c] = i / 10 + c - 3;
  return p;
}

Deno.test({
  name: "writeSubmission follows IdLookupTable: order, values, count, SampleSubmission's RowIds",
  ignore: !hasShared,
  fn: async () => {
    await withTempDir(async (dir) => {
      const n = 1783;
      const ids = Array.from({ length: n }, (_, i) => String(i + 1));
      const path = `${dir}/submission.csv`;
      await writeSubmission(path, fabricatedPredictions(n), ids, LOOKUP);
      const out = (await Deno.readTextFile(path)).trimEnd().split("\n").map((l) => l.split(","));
      const lookup = (await Deno.readTextFile(LOOKUP)).trimEnd().split("\n").map((l) => l.split(","));
      const sample = (await Deno.readTextFile(SAMPLE)).trimEnd().split("\n").map((l) => l.split(","));
      assert.equal(out.length - 1, 27124);
      assert.deepEqual(out[0], ["RowId", "Location"]);
      assert.deepEqual(out.map((r) => r[0]), sample.map((r) => r[0]));
      for (const r of [1, 2, 30, 31, 500, 27124]) {
        const [rowId, imageId, feature] = lookup[r];
        const expected = Math.min(
          96,
          Math.max(0, (Number(imageId) - 1) / 10 + KEYPOINT_COLUMNS.indexOf(feature) - 3),
        );
        assert.equal(out[r][0], rowId);
        assert.ok(Math.abs(Number(out[r][1]) - expected) < 1e-4, `row ${r}: ${out[r][1]} vs ${expected}`);
      }
      // Row 1 is ImageId 1, left_eye_center_x: −3 clipped to 0. The last row is ImageId 1783.
      assert.deepEqual(out[1], ["1", "0"]);
      assert.equal(lookup[27124][1], "1783");
      assert.ok(out.slice(1).every((r) => Number(r[1]) >= 0 && Number(r[1]) <= 96));
    });
  },
});

Deno.test({
  name: "writeSubmission errors: an ImageId without prediction, an unknown feature, mismatched sizes",
  ignore: !hasShared,
  fn: async () => {
    await withTempDir(async (dir) => {
      const ids = Array.from({ length: 1782 }, (_, i) => String(i + 1));
      const err = await writeSubmission(`${dir}/s.csv`, fabricatedPredictions(1782), ids, LOOKUP).then(
        () => undefined,
        (e) => e,
      );
      assert.ok(err instanceof DataError);
      assert.equal(err.location.file, LOOKUP);
      assert.equal(err.location.column, "ImageId");
      assert.match(err.message, /row \d+.*no prediction for ImageId "1783"/);
      assert.deepEqual([...Deno.readDirSync(dir)], []);

      const table = `${dir}/lookup.csv`;
      await Deno.writeTextFile(
        table,
        "RowId,ImageId,FeatureName,Location\n1,1,left_eye_center_x,\n2,1,nose,\n",
      );
      await assert.rejects(
        () => writeSubmission(`${dir}/s.csv`, fabricatedPredictions(1), ["1"], table),
        (e: Error) =>
          e instanceof DataError && /row 3, column FeatureName: unknown feature "nose"/.test(e.message),
      );
      await assert.rejects(
        () => writeSubmission(`${dir}/s.csv`, new Float32Array(31), ["1"], table),
        UsageError,
      );
    });
  },
});

Deno.test({
  name: "readKaggleLabels on the real label-only file: 7049 rows, 2140 complete",
  ignore: !hasShared,
  fn: async () => {
    const { n, keypoints, mask } = await readKaggleLabels(LABELS);
    assert.equal(n, 7049);
    let complete = 0;
    for (let i = 0; i < n; i++) {
      if (mask.subarray(i * NUM_COORDS, (i + 1) * NUM_COORDS).every((m) => m)) complete++;
    }
    assert.equal(complete, 2140);
    assert.equal(keypoints[0], Math.fround(66.0335639098));
    assert.ok(keypoints.every((v, i) => Number.isNaN(v) === (mask[i] === 0)));
  },
});

Deno.test("readKaggleCsv / readKaggleLabels: a keypoint far outside the 96-pixel face is refused, naming row and column", async () => {
  await withTempDir(async (dir) => {
    const header = [...KEYPOINT_COLUMNS, "Image"].join(",");
    const row = (values: string[]) => [...values, pixelText(PIXELS)].join(",");
    const fine = KEYPOINT_COLUMNS.map(() => "48");
    for (const [bad, column] of [["1e6", 3], ["-40", 0], ["121", 29]] as const) {
      const values = [...fine];
      values[column] = bad;
      const file = `${dir}/bad.csv`;
      await Deno.writeTextFile(file, [header, row(fine), row(values)].join("\n") + "\n");
      for (const read of [readKaggleCsv, readKaggleLabels]) {
        await assert.rejects(read(file), (e: unknown) => {
          assert.ok(e instanceof DataError);
          assert.equal(
            e.message,
            `${file}, row 3, column ${KEYPOINT_COLUMNS[column]}: keypoint value ${
              Number(bad)
            } lies outside ` +
              "the image (96 pixels; allowed -24 … 120)",
          );
          return true;
        });
      }
    }
    // Up to a quarter of the face beyond each edge is still a keypoint (a face cut by the frame).
    const edges = KEYPOINT_COLUMNS.map((_, c) => (c % 2 === 0 ? "-24" : "120"));
    await Deno.writeTextFile(`${dir}/edge.csv`, [header, row(edges)].join("\n") + "\n");
    assert.equal((await readKaggleCsv(`${dir}/edge.csv`)).n, 1);
  });
});
