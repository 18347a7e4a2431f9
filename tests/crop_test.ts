import { assertAlmostEquals, assertEquals, assertRejects } from "./_assert.ts";
import assert from "node:assert/strict";
import sharp from "sharp";
import { fromCropCoords, squareBoxAround, toCropCoords } from "../lib/data/crop.ts";
import { cropToFace } from "../lib/data/crop_io.ts";
import type { CropBox } from "../lib/core/box.ts";
import { DataError, UsageError } from "../lib/core/errors.ts";
import { readGray, readRgb, writeGrayPng, writeRgbPng } from "../lib/core/image_io.ts";

/** A black `width × height` image with a bright square dot of side `2·half + 1` centred on (cx, cy). */
function dotImage(width: number, height: number, cx: number, cy: number, half: number) {
  const data = new Uint8Array(width * height);
  for (let y = cy - half; y <= cy + half; y++) {
    for (let x = cx - half; x <= cx + half; x++) {
      if (x >= 0 && y >= 0 && x < width && y < height) data[y * width + x] = 255;
    }
  }
  return { data, width, height };
}

/** Intensity-weighted centroid of a 96×96 face. */
function centroid(face: Float32Array): [number, number] {
  let sw = 0, sx = 0, sy = 0;
  for (let v = 0; v < 96; v++) {
    for (let u = 0; u < 96; u++) {
      const w = face[v * 96 + u];
      sw += w, sx += w * u, sy += w * v;
    }
  }
  assert(sw > 0, "the dot vanished from the crop");
  return [sx / sw, sy / sw];
}

Deno.test("cropToFace: a dot at a landmark lands on toCropCoords, shrinking, enlarging and at 1:1", async () => {
  const cases: { px: number; py: number; box: CropBox }[] = [
    { px: 210, py: 140, box: { x: 150, y: 100, size: 96 } }, // 1:1
    { px: 210, py: 140, box: { x: 183, y: 117, size: 41 } }, // enlarge ×2.34
    { px: 203, py: 151, box: { x: 190, y: 130, size: 29 } }, // enlarge ×3.31
    { px: 210, py: 140, box: { x: 120, y: 60, size: 137 } }, // shrink ×0.70
    { px: 311, py: 207, box: { x: 101, y: 47, size: 333 } }, // shrink ×0.29
    { px: 250, py: 250, box: { x: -300, y: -250, size: 1000 } }, // shrink ×0.096, mostly outside the image
    { px: 20, py: 270, box: { x: -60, y: 200, size: 150 } }, // partly outside (left and bottom)
  ];
  for (const { px, py, box } of cases) {
    // Keep the dot a few crop pixels wide at every scale, so it survives shrinking and 8-bit rounding.
    const half = Math.max(1, Math.round(box.size / 96));
    const face = await cropToFace(dotImage(400, 300, px, py, half), box);
    assertEquals(face.length, 9216);
    const [cu, cv] = centroid(face);
    const [u, v] = toCropCoords(px, py, box);
    // 1 px is the bound; the measured error is < 0.1 px, and a half-pixel shift must fail.
    assert(
      Math.hypot(cu - u, cv - v) < 0.3,
      `box ${JSON.stringify(box)}: dot at (${cu}, ${cv}), mapped (${u}, ${v})`,
    );
  }
});

Deno.test("cropToFace: pixels outside the image are black, inside keep their value", async () => {
  const gray = { data: new Uint8Array(100 * 80).fill(255), width: 100, height: 80 };
  for (const size of [48, 96, 200]) {
    const face = await cropToFace(gray, { x: -size / 2, y: 80 - size / 2, size }); // image's bottom-left corner at the centre
    assertAlmostEquals(face[10 * 96 + 10], 0, 1e-6); // up-left: outside (x < 0)
    assertAlmostEquals(face[10 * 96 + 85], 1, 1e-6); // up-right: inside
    assertAlmostEquals(face[85 * 96 + 85], 0, 1e-6); // down-right: outside (y ≥ 80)
    assert(face.every((v) => v >= 0 && v <= 1));
  }
});

Deno.test("cropToFace: rejects a fractional box or a wrong-sized image", async () => {
  const gray = { data: new Uint8Array(100), width: 10, height: 10 };
  await assertRejects(() => cropToFace(gray, { x: 0.5, y: 0, size: 10 }), UsageError);
  await assertRejects(() => cropToFace(gray, { x: 0, y: 0, size: 0 }), UsageError);
  await assertRejects(() => cropToFace({ ...gray, width: 11 }, { x: 0, y: 0, size: 10 }), UsageError);
});

Deno.test("toCropCoords / fromCropCoords: the documented formula, and each inverts the other", () => {
  const box = { x: 37, y: -12, size: 150 };
  const [u, v] = toCropCoords(100, 50, box);
  assertAlmostEquals(u, (100 - 37 + 0.5) * 96 / 150 - 0.5, 1e-9);
  assertAlmostEquals(v, (50 + 12 + 0.5) * 96 / 150 - 0.5, 1e-9);
  // Pixel edges line up: the box's outer edge maps to the face's outer edge.
  assertAlmostEquals(toCropCoords(37 - 0.5, 0, box)[0], -0.5, 1e-9);
  assertAlmostEquals(toCropCoords(37 + 150 - 0.5, 0, box)[0], 95.5, 1e-9);
  for (const [x, y] of [[0, 0], [100.25, 50.75], [-30, 400], [186.5, -11.5]]) {
    const [bx, by] = fromCropCoords(...toCropCoords(x, y, box), box);
    assertAlmostEquals(bx, x, 1e-9);
    assertAlmostEquals(by, y, 1e-9);
  }
});

Deno.test("squareBoxAround: centred on the points' box, side max(w, h)·(1 + 2·margin), NaN ignored", () => {
  // Points span x 100..200 (w 100), y 50..110 (h 60); centre (150, 80).
  const pts = new Float32Array([100, 50, 200, 110, NaN, 999, 150, 80]);
  const box = squareBoxAround(pts, 0.25);
  assertEquals(box.size, 150);
  assertEquals(box, { x: Math.round(150 - 149 / 2), y: Math.round(80 - 149 / 2), size: 150 });
  // The points' centre lands within half a crop pixel of the face's centre (47.5, 47.5).
  const [u, v] = toCropCoords(150, 80, box);
  assert(Math.abs(u - 47.5) <= 0.5 && Math.abs(v - 47.5) <= 0.5, `centre maps to (${u}, ${v})`);
  assertEquals(squareBoxAround(pts, 0).size, 100);
  assertEquals(squareBoxAround(new Float32Array([5, 5]), 0.25).size, 1);
  assert.throws(() => squareBoxAround(new Float32Array([NaN, NaN]), 0.25), UsageError);
  assert.throws(() => squareBoxAround(pts, -0.1), UsageError);
});

Deno.test("image_io: gray and RGB PNGs round-trip exactly, atomically, into new folders", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fkd_image_io_" });
  try {
    const gray = new Uint8Array(7 * 5).map((_, i) => (i * 37) % 256);
    const grayPath = `${dir}/a/b/gray.png`;
    await writeGrayPng(grayPath, gray, 7, 5);
    assertEquals((await sharp(grayPath).metadata()).channels, 1);
    assertEquals(await readGray(grayPath), { data: gray, width: 7, height: 5 });
    // A gray file read as RGB repeats the value in each channel.
    const rgbOfGray = await readRgb(grayPath);
    assertEquals(rgbOfGray.data.length, 7 * 5 * 3);
    assertEquals(rgbOfGray.data[3 * 4 + 1], gray[4]);

    const rgb = new Uint8Array(6 * 4 * 3).map((_, i) => (i * 53) % 256);
    const rgbPath = `${dir}/rgb.png`;
    await writeRgbPng(rgbPath, rgb, 6, 4);
    assertEquals(await readRgb(rgbPath), { data: rgb, width: 6, height: 4 });
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(names, ["a", "rgb.png"]); // no temporary files left behind
    await assertRejects(() => writeGrayPng(`${dir}/bad.png`, gray, 7, 4), UsageError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("image_io: RGBA, gray+alpha and 16-bit files read as 8-bit gray with alpha flattened", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fkd_image_io_" });
  try {
    // Two RGBA pixels: opaque white, fully transparent white (→ black after flattening).
    const rgba = new Uint8Array([255, 255, 255, 255, 255, 255, 255, 0]);
    await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } }).png().toFile(`${dir}/rgba.png`);
    assertEquals(Array.from((await readGray(`${dir}/rgba.png`)).data), [255, 0]);
    const ga = new Uint8Array([200, 255, 200, 0]);
    await sharp(ga, { raw: { width: 2, height: 1, channels: 2 } }).png().toFile(`${dir}/ga.png`);
    assertEquals(Array.from((await readGray(`${dir}/ga.png`)).data), [200, 0]);
    await sharp(new Uint8Array([0, 128, 255]), { raw: { width: 3, height: 1, channels: 1 } })
      .toColourspace("grey16").png().toFile(`${dir}/g16.png`);
    assertEquals((await sharp(`${dir}/g16.png`).metadata()).depth, "ushort");
    const g16 = await readGray(`${dir}/g16.png`);
    assertEquals(g16.data.length, 3);
    assert(g16.data[0] === 0 && Math.abs(g16.data[1] - 128) <= 1 && g16.data[2] === 255, `${g16.data}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("image_io: a missing or undecodable file is a DataError naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fkd_image_io_" });
  try {
    const bad = `${dir}/broken.jpg`;
    await Deno.writeTextFile(bad, "this is not a JPEG");
    const e1 = await assertRejects(() => readGray(bad), DataError);
    assert(e1.message.includes(bad) && e1.message.includes("decode"), e1.message);
    const e2 = await assertRejects(() => readRgb(`${dir}/nope.png`), DataError);
    assert(e2.message.includes(`${dir}/nope.png`) && e2.message.includes("not found"), e2.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
