import { assertAlmostEquals, assertEquals } from "./_assert.ts";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { NUM_COORDS } from "../lib/core/constants.ts";
import { squareBoxAround, toCropCoords } from "../lib/data/crop.ts";
import { assertDataset } from "../lib/data/dataset.ts";
import { PIXELS } from "../lib/core/constants.ts";
import { landmarks68ToKaggle15, readLandmarks68Folder, readPtsFolder } from "../lib/data/landmarks68_io.ts";
import { DataError, UsageError } from "../lib/core/errors.ts";
import { writeGrayPng } from "../lib/core/image_io.ts";

const YTF68 = fileURLToPath(new URL("../../shared/data/ytf68", import.meta.url));
const hasYtf68 = (() => {
  try {
    return Deno.statSync(`${YTF68}/test_frames_keypoints.csv`).isFile;
  } catch {
    return false;
  }
})();

/** Awaits `fn`, asserts that it rejects with a DataError whose message has every `parts`, returns it. */
async function rejectsWithDataError(fn: () => Promise<unknown>, ...parts: string[]): Promise<DataError> {
  try {
    await fn();
  } catch (e) {
    assert(e instanceof DataError, `expected a DataError, got ${e}`);
    for (const p of parts) assert(e.message.includes(p), `"${e.message}" does not mention "${p}"`);
    return e;
  }
  throw new assert.AssertionError({ message: "expected a DataError, but nothing was thrown" });
}

/** 68 integer landmarks on a 10-wide grid, top-left (40, 30), 8 px apart across and 9 down. */
function gridLandmarks(): Float32Array {
  const p = new Float32Array(136);
  for (let i = 0; i < 68; i++) p[2 * i] = 40 + (i % 10) * 8, p[2 * i + 1] = 30 + Math.floor(i / 10) * 9;
  return p;
}

/** A 160×120 black image with a 3×3 white dot at (x, y). */
async function writeDotImage(path: string, x: number, y: number) {
  const data = new Uint8Array(160 * 120);
  for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) data[(y + dy) * 160 + x + dx] = 255;
  await writeGrayPng(path, data, 160, 120);
}

const CSV_HEADER = "," + Array.from({ length: 136 }, (_, i) => i).join(",");

/** A Udacity-layout folder: `training/` images and a CSV, one row per `[name, landmarks]`. */
async function writeUdacityFixture(
  root: string,
  rows: [string, ArrayLike<number>][],
  extraLines: string[] = [],
) {
  await Deno.mkdir(`${root}/training`, { recursive: true });
  const lines = [CSV_HEADER, ...rows.map(([n, p]) => [n, ...Array.from(p)].join(",")), ...extraLines];
  await Deno.writeTextFile(`${root}/training_frames_keypoints.csv`, lines.join("\n") + "\n");
}

/** A `.pts` text for 0-based landmarks: values written 1-based, with or without the 300-W header. */
function ptsText(points: Float32Array, header: boolean): string {
  const lines = Array.from(
    { length: points.length / 2 },
    (_, i) => `${points[2 * i] + 1} ${points[2 * i + 1] + 1}`,
  );
  return (header ? ["version: 1", `n_points: ${lines.length}`, "{", ...lines, "}"] : lines).join("\n") + "\n";
}

async function withTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "fkd_landmarks68_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("landmarks68ToKaggle15: hand-checked example", () => {
  // Landmark i at (i, 100 + 2i), so a mean of indices maps through the same line.
  const p = new Float32Array(136);
  for (let i = 0; i < 68; i++) p[2 * i] = i, p[2 * i + 1] = 100 + 2 * i;
  const kp = landmarks68ToKaggle15(p);
  assertEquals(kp.length, 30);
  // left_eye_center = mean(42..47) = 44.5 → (44.5, 189); right_eye_center = mean(36..41) = 38.5 → (38.5, 177).
  assertEquals([kp[0], kp[1], kp[2], kp[3]], [44.5, 189, 38.5, 177]);
  // left_eye_inner 42, left_eye_outer 45, right_eye_inner 39, right_eye_outer 36.
  assertEquals(Array.from(kp.slice(4, 12)), [42, 184, 45, 190, 39, 178, 36, 172]);
  // Brows: left inner 22, left outer 26, right inner 21, right outer 17.
  assertEquals(Array.from(kp.slice(12, 20)), [22, 144, 26, 152, 21, 142, 17, 134]);
  // nose_tip 30; mouth left 54, right 48, top lip 51, bottom lip 57.
  assertEquals(Array.from(kp.slice(20, 30)), [30, 160, 54, 208, 48, 196, 51, 202, 57, 214]);
  // A missing landmark makes the keypoints that use it missing, and only those.
  p[2 * 43] = NaN;
  const kp2 = landmarks68ToKaggle15(p);
  assert(Number.isNaN(kp2[0]) && kp2[1] === 189 && kp2[2] === 38.5);
  assert.throws(() => landmarks68ToKaggle15(new Float32Array(30)), UsageError);
});

Deno.test("readLandmarks68Folder: a tiny Udacity-layout fixture", async () => {
  await withTempDir(async (root) => {
    const p = gridLandmarks();
    const nose = [p[60], p[61]]; // landmark 30: (40, 57)
    await writeDotImage(`${root}/training/Jane_Doe_01.png`, nose[0], nose[1]);
    await writeDotImage(`${root}/training/John_Q_Public_12.png`, nose[0], nose[1]);
    const q = p.slice();
    q[2 * 51 + 1] = NaN; // an empty value: mouth_center_top_lip y is missing
    await writeUdacityFixture(root, [["Jane_Doe_01.png", p], ["John_Q_Public_12.png", q]]);
    const csv = await Deno.readTextFile(`${root}/training_frames_keypoints.csv`);
    await Deno.writeTextFile(`${root}/training_frames_keypoints.csv`, csv.replace(",NaN,", ",,"));

    const ds = await readLandmarks68Folder(root, "training", { margin: 0.2 });
    assertDataset(ds);
    assertEquals(ds.n, 2);
    assertEquals(ds.name, `${root}:training`);
    assertEquals(ds.ids, ["Jane_Doe_01.png", "John_Q_Public_12.png"]);
    assertEquals(ds.groups, ["Jane_Doe", "John_Q_Public"]);
    const box = squareBoxAround(p, 0.2);
    const src = ds.sources![0];
    assertEquals(src, {
      file: `${root}/training/Jane_Doe_01.png`,
      width: 160,
      height: 120,
      box,
      landmarks68: p,
    });
    const kp = landmarks68ToKaggle15(p);
    for (let k = 0; k < 30; k += 2) {
      const [u, v] = toCropCoords(kp[k], kp[k + 1], box);
      assertAlmostEquals(ds.keypoints[k], u, 1e-4);
      assertAlmostEquals(ds.keypoints[k + 1], v, 1e-4);
    }
    assert(Number.isNaN(ds.keypoints[NUM_COORDS + 27]) && ds.mask[NUM_COORDS + 27] === 0);
    assertEquals(ds.mask.reduce((a, b) => a + b, 0), 59);
    // The white dot drawn at the nose is the brightest pixel of the crop, at the nose_tip keypoint.
    const face = ds.images.subarray(0, PIXELS);
    const brightest = face.indexOf(Math.max(...face));
    assert(
      Math.abs((brightest % 96) - ds.keypoints[20]) <= 1 &&
        Math.abs(Math.floor(brightest / 96) - ds.keypoints[21]) <= 1,
    );
    assertEquals((await readLandmarks68Folder(root, "training", { limit: 1 })).n, 1);
  });
});

Deno.test("readPtsFolder: 300-W .pts with and without header, 1-based coordinates", async () => {
  await withTempDir(async (dir) => {
    const p = gridLandmarks();
    await writeDotImage(`${dir}/b_face.png`, p[60], p[61]);
    await writeDotImage(`${dir}/a_face.JPG.png`, p[60], p[61]); // stem "a_face.JPG"
    await Deno.writeTextFile(`${dir}/b_face.pts`, ptsText(p, true));
    await Deno.writeTextFile(`${dir}/a_face.JPG.pts`, ptsText(p, false));
    await Deno.writeTextFile(`${dir}/notes.txt`, "not a landmark file");

    const ds = await readPtsFolder(dir);
    assertDataset(ds);
    assertEquals(ds.n, 2);
    assertEquals(ds.ids, ["a_face.JPG.png", "b_face.png"]);
    assertEquals(ds.groups, ["a_face.JPG", "b_face"]);
    for (const src of ds.sources!) {
      // The file held p + 1 (1-based); the reader gives back p.
      assertEquals(src.landmarks68, p);
      assertEquals(src.box, squareBoxAround(p, 0.25));
    }
    assertEquals(ds.keypoints.subarray(0, 30), ds.keypoints.subarray(30, 60));
    const [u, v] = toCropCoords(p[60], p[61], ds.sources![0].box);
    assertAlmostEquals(ds.keypoints[20], u, 1e-4);
    assertAlmostEquals(ds.keypoints[21], v, 1e-4);
  });
});

Deno.test({
  name: "readLandmarks68Folder: the real ytf68 test split (first 40 frames)",
  ignore: !hasYtf68,
  fn: async () => {
    const ds = await readLandmarks68Folder(YTF68, "test", { limit: 40 });
    assertDataset(ds);
    assertEquals(ds.n, 40);
    assertEquals(ds.images.length, 40 * PIXELS);
    const firstRow = (await Deno.readTextFile(`${YTF68}/test_frames_keypoints.csv`)).split("\n")[1];
    assertEquals(ds.ids![0], firstRow.split(",")[0]);
    for (let i = 0; i < ds.n; i++) {
      assert(/^[A-Za-z].*[^_\d]$/.test(ds.groups![i]) && ds.ids![i].startsWith(`${ds.groups![i]}_`));
      const kp = ds.keypoints.subarray(i * 30, (i + 1) * 30);
      assert(kp.every((c) => c >= 0 && c <= 95), `face ${i}: a keypoint outside the crop`);
      const eyeY = Math.max(kp[1], kp[3]), mouthY = Math.min(kp[23], kp[25], kp[27]);
      assert(eyeY < mouthY, `face ${i} (${ds.ids![i]}): eyes (y ${eyeY}) not above the mouth (y ${mouthY})`);
      assert(kp[0] > kp[2], `face ${i}: the subject's left eye should be on the image's right`);
      const src = ds.sources![i];
      assert(src.width > 0 && src.height > 0 && src.landmarks68!.length === 136);
    }
  },
});

Deno.test("readLandmarks68Folder: bad CSV rows and images are DataErrors naming file and row", async () => {
  await withTempDir(async (root) => {
    const p = gridLandmarks();
    const csv = `${root}/training_frames_keypoints.csv`;
    await writeDotImage(`${root}/training/A_B_00.png`, 50, 50);
    const good = ["A_B_00.png", p] as [string, Float32Array];

    await writeUdacityFixture(root, [good, ["A_B_00.png", p.slice(0, 134)]]);
    await rejectsWithDataError(() => readLandmarks68Folder(root, "training"), csv, "row 3", "135 fields");

    await writeUdacityFixture(root, [good], [
      `A_B_00.png,${Array.from(p).join(",").replace(/^40,30/, "40,3O")}`,
    ]);
    await rejectsWithDataError(
      () => readLandmarks68Folder(root, "training"),
      csv,
      "row 3",
      "column y0",
      '"3O"',
    );

    await writeUdacityFixture(root, [good, ["Missing_Person_07.png", p]]);
    await rejectsWithDataError(
      () => readLandmarks68Folder(root, "training"),
      csv,
      "row 3",
      "Missing_Person_07.png",
      "not found",
    );

    await Deno.writeTextFile(`${root}/training/Broken_00.jpg`, "not a jpeg at all");
    await writeUdacityFixture(root, [good, ["Broken_00.jpg", p]]);
    await rejectsWithDataError(
      () => readLandmarks68Folder(root, "training"),
      csv,
      "row 3",
      "Broken_00.jpg",
      "decode",
    );

    await writeUdacityFixture(root, [good, ["A_B_00.png", new Float32Array(136).fill(NaN)]]);
    await rejectsWithDataError(() => readLandmarks68Folder(root, "training"), csv, "row 3", "every landmark");

    await rejectsWithDataError(
      () => readLandmarks68Folder(root, "test"),
      `${root}/test_frames_keypoints.csv`,
    );
  });
});

Deno.test("readPtsFolder: bad .pts files, a .pts with no image and an empty folder are DataErrors", async () => {
  await withTempDir(async (dir) => {
    const p = gridLandmarks();
    const good = ptsText(p, true).split("\n");
    const cases: [string, string, string[]][] = [
      ["67 points", ptsText(p.slice(0, 134), false), ["expected 68 points, found 67"]],
      ["n_points mismatch", good.join("\n").replace("n_points: 68", "n_points: 69"), ["n_points says 69"]],
      ["no closing brace", good.slice(0, -2).join("\n"), ["malformed braces"]],
      ["no opening brace", good.filter((l) => l !== "{").join("\n"), ["malformed braces"]],
      ["stray brace", ptsText(p, false) + "}\n", ["malformed braces"]],
      ["bad number", good.join("\n").replace("41 31", "41 3l"), ["row 4", "column y0", '"3l"']],
      ["three values", good.join("\n").replace("41 31", "41 31 7"), ["row 4", "41 31 7"]],
    ];
    for (const [what, text, parts] of cases) {
      await Deno.mkdir(`${dir}/${what}`);
      await writeDotImage(`${dir}/${what}/face.png`, 50, 50);
      await Deno.writeTextFile(`${dir}/${what}/face.pts`, text);
      await rejectsWithDataError(() => readPtsFolder(`${dir}/${what}`), `${dir}/${what}/face.pts`, ...parts);
    }
    await Deno.mkdir(`${dir}/no image`);
    await Deno.writeTextFile(`${dir}/no image/lonely.pts`, ptsText(p, true));
    await rejectsWithDataError(
      () => readPtsFolder(`${dir}/no image`),
      `${dir}/no image/lonely.pts`,
      "no image",
    );
    await Deno.mkdir(`${dir}/empty`);
    await writeDotImage(`${dir}/empty/face.png`, 50, 50);
    await rejectsWithDataError(() => readPtsFolder(`${dir}/empty`), `${dir}/empty`, "no .pts");
    await Deno.mkdir(`${dir}/broken image`);
    await Deno.writeTextFile(`${dir}/broken image/face.jpg`, "garbage");
    await Deno.writeTextFile(`${dir}/broken image/face.pts`, ptsText(p, false));
    await rejectsWithDataError(
      () => readPtsFolder(`${dir}/broken image`),
      `${dir}/broken image/face.pts`,
      "decode",
    );
  });
});

Deno.test("readLandmarks68Folder / readPtsFolder: a landmark far outside its image is refused, naming file, row and column", async () => {
  await withTempDir(async (dir) => {
    const far = gridLandmarks();
    far[2 * 5 + 1] = 1e6; // y of point 5, on a 160×120 image
    await writeUdacityFixture(dir, [["a.png", gridLandmarks()], ["b.png", far]]);
    await writeDotImage(`${dir}/training/a.png`, 50, 50);
    await writeDotImage(`${dir}/training/b.png`, 50, 50);
    const csv = `${dir}/training_frames_keypoints.csv`;
    const e = await rejectsWithDataError(() => readLandmarks68Folder(dir, "training"));
    assertEquals(
      e.message,
      `${csv}, row 3, column y5: keypoint value 1000000 lies outside the image (120 pixels; allowed -40 … 160)`,
    );

    const negative = gridLandmarks();
    negative[0] = -60; // x of point 0, more than 40 px left of the image
    await Deno.mkdir(`${dir}/pts`);
    await writeDotImage(`${dir}/pts/face.png`, 50, 50);
    await Deno.writeTextFile(`${dir}/pts/face.pts`, ptsText(negative, true));
    await rejectsWithDataError(
      () => readPtsFolder(`${dir}/pts`),
      `${dir}/pts/face.pts, column x0: keypoint value -60 lies outside the image (160 pixels; allowed -40 … 200)`,
    );
  });
});

Deno.test("readPtsFolder: images without a .pts are named in a note, not skipped silently", async () => {
  await withTempDir(async (dir) => {
    await writeDotImage(`${dir}/face.png`, 50, 50);
    await Deno.writeTextFile(`${dir}/face.pts`, ptsText(gridLandmarks(), true));
    await writeDotImage(`${dir}/lonely.png`, 50, 50);
    const notes: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void notes.push(args.join(" "));
    try {
      assertEquals((await readPtsFolder(dir)).n, 1);
    } finally {
      console.warn = warn;
    }
    assertEquals(notes, [`note: ${dir}: 1 image(s) without a .pts file left out (lonely.png)`]);
  });
});
