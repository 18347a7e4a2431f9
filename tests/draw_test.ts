import nodeAssert from "node:assert/strict";
import sharp from "sharp";
import { augmentationGrid, DEFAULT_POINT_COLORS, faceGridRgb } from "../lib/viz/draw.ts";
import { gridPixel } from "../lib/viz/_util.ts";
import { saveFaceGrid } from "../lib/viz/png_io.ts";
import { compose, horizontalFlip } from "../lib/augment/augment.ts";
import type { KeypointDataset } from "../lib/data/types.ts";
import { FLIP_KEYPOINT_PAIRS, KEYPOINT_NAMES, KEYPOINT_SIDES, PIXELS } from "../lib/core/constants.ts";
import { UsageError } from "../lib/core/errors.ts";

/** A face with a horizontal gradient and keypoints at the given positions (NaN where missing). */
function face(points: Record<string, [number, number]>, label?: string) {
  const image = new Float32Array(PIXELS);
  for (let i = 0; i < PIXELS; i++) image[i] = (i % 96) / 95;
  const keypoints = new Float32Array(30).fill(NaN);
  for (const [name, [x, y]] of Object.entries(points)) {
    const k = KEYPOINT_NAMES.indexOf(name as typeof KEYPOINT_NAMES[number]);
    keypoints[2 * k] = x;
    keypoints[2 * k + 1] = y;
  }
  return { image, keypoints, label };
}

const pixel = (
  g: { data: Uint8Array; width: number },
  x: number,
  y: number,
) => [...g.data.subarray(3 * (y * g.width + x), 3 * (y * g.width + x) + 3)];

Deno.test("grid dimensions follow columns, scale and labels", () => {
  const faces = Array.from({ length: 5 }, () => face({}));
  const g = faceGridRgb(faces, { columns: 2, scale: 2 });
  nodeAssert.equal(g.width, 4 + 2 * (192 + 4));
  nodeAssert.equal(g.height, 4 + 3 * (192 + 4));
  nodeAssert.equal(g.data.length, g.width * g.height * 3);
  nodeAssert.deepEqual(g.cells[3], { x: 4 + 196, y: 4 + 196 });
  const labelled = faceGridRgb([face({}, "orig"), face({})], { scale: 3 });
  nodeAssert.equal(labelled.width, 4 + 2 * (288 + 4));
  nodeAssert.equal(labelled.height, 4 + 288 + 14 + 4); // one row with a 14-px label band
  // Default: one row of up to 8.
  nodeAssert.equal(faceGridRgb(Array.from({ length: 10 }, () => face({})), { scale: 1 }).width, 4 + 8 * 100);
});

Deno.test("face pixels are grey and keypoint pixels have their side's colour", () => {
  const f = face({
    left_eye_center: [66.3, 37.6],
    right_eye_center: [29.8, 38.2],
    nose_tip: [47.5, 55],
    mouth_left_corner: [60, 75],
  });
  const g = faceGridRgb([face({}), f], { scale: 3 });
  const { x: ox, y: oy } = g.cells[1];
  // Face pixel (10, 50) covers grid pixels ox+30..ox+32: grey value of 10/95.
  const grey = Math.round(255 * 10 / 95);
  nodeAssert.deepEqual(pixel(g, ox + 31, oy + 151), [grey, grey, grey]);
  const at = (x: number, y: number) => pixel(g, gridPixel(ox, x, 3), gridPixel(oy, y, 3));
  nodeAssert.deepEqual(at(66.3, 37.6), [...DEFAULT_POINT_COLORS.left]);
  nodeAssert.deepEqual(at(29.8, 38.2), [...DEFAULT_POINT_COLORS.right]);
  nodeAssert.deepEqual(at(47.5, 55), [...DEFAULT_POINT_COLORS.centre]);
  nodeAssert.deepEqual(at(60, 75), [...DEFAULT_POINT_COLORS.left]);
  // A missing keypoint draws nothing: the first face's eye position is plain grey.
  const plain = pixel(g, gridPixel(g.cells[0].x, 66.3, 3), gridPixel(g.cells[0].y, 37.6, 3));
  nodeAssert.ok(plain[0] === plain[1] && plain[1] === plain[2], `${plain}`);
  // gridPixel: keypoint (0, 0) is the centre of the first face pixel's 3×3 block.
  nodeAssert.equal(gridPixel(10, 0, 3), 11);
  nodeAssert.equal(gridPixel(10, 95, 3), 10 + 286);
  // Custom colours.
  const custom = faceGridRgb([f], { scale: 2, pointColors: { left: [1, 2, 3] } });
  const c = custom.cells[0];
  nodeAssert.deepEqual(pixel(custom, gridPixel(c.x, 66.3, 2), gridPixel(c.y, 37.6, 2)), [1, 2, 3]);
  nodeAssert.deepEqual(pixel(custom, gridPixel(c.x, 29.8, 2), gridPixel(c.y, 38.2, 2)), [
    ...DEFAULT_POINT_COLORS.right,
  ]);
});

Deno.test("every keypoint has a side, and left/right pairs are on opposite sides", () => {
  nodeAssert.equal(KEYPOINT_SIDES.filter((s) => s === "left").length, 6);
  nodeAssert.equal(KEYPOINT_SIDES.filter((s) => s === "right").length, 6);
  nodeAssert.deepEqual(
    KEYPOINT_NAMES.filter((_, k) => KEYPOINT_SIDES[k] === "centre"),
    ["nose_tip", "mouth_center_top_lip", "mouth_center_bottom_lip"],
  );
  for (const [l, r] of FLIP_KEYPOINT_PAIRS) {
    nodeAssert.deepEqual([KEYPOINT_SIDES[l], KEYPOINT_SIDES[r]], ["left", "right"]);
  }
});

Deno.test("labels are drawn in the band under the face", () => {
  const g = faceGridRgb([face({}, "FLIP 1")], { scale: 2 });
  const { x, y } = g.cells[0];
  let lit = 0;
  for (let yy = y + 192; yy < y + 192 + 14; yy++) {
    for (let xx = x; xx < x + 192; xx++) if (pixel(g, xx, yy)[0] > 200) lit++;
  }
  nodeAssert.ok(lit > 40, `${lit} lit label pixels`);
});

Deno.test("saveFaceGrid writes a PNG atomically and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/sub/grid.png`;
    const faces = [face({ left_eye_center: [60, 40] }, "a"), face({ right_eye_center: [30, 40] }, "b")];
    const res = await saveFaceGrid(path, faces, { scale: 2 });
    const grid = faceGridRgb(faces, { scale: 2 });
    const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
    nodeAssert.deepEqual([info.width, info.height, info.channels], [grid.width, grid.height, 3]);
    nodeAssert.deepEqual(res, { path, width: grid.width, height: grid.height });
    nodeAssert.ok(Buffer.from(grid.data).equals(data), "the PNG holds exactly the grid's pixels");
    const names = [...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name);
    nodeAssert.deepEqual(names, ["grid.png"]);
    // A failed call leaves the previous file untouched.
    const before = await Deno.readFile(path);
    await nodeAssert.rejects(
      () => saveFaceGrid(path, [{ image: new Float32Array(10) }]),
      (e: unknown) => e instanceof UsageError && e.message.includes("10 pixels"),
    );
    nodeAssert.deepEqual(await Deno.readFile(path), before);
    nodeAssert.deepEqual([...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name), ["grid.png"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad options raise UsageError", () => {
  nodeAssert.throws(() => faceGridRgb([]), UsageError);
  nodeAssert.throws(() => faceGridRgb([face({})], { scale: 2.5 }), UsageError);
  nodeAssert.throws(() => faceGridRgb([face({})], { columns: 0 }), UsageError);
  nodeAssert.throws(
    () => faceGridRgb([{ image: new Float32Array(PIXELS), keypoints: new Float32Array(4) }]),
    UsageError,
  );
});

Deno.test("augmentationGrid: each original followed by its labelled augmentations", () => {
  const f = face({ left_eye_center: [60, 40], right_eye_center: [30, 40] });
  const ds: KeypointDataset = {
    name: "t",
    synthetic: true,
    n: 2,
    images: new Float32Array([...f.image, ...f.image]),
    keypoints: new Float32Array([...f.keypoints, ...f.keypoints]),
    mask: new Uint8Array(60),
    ids: ["x", "y"],
  };
  const faces = augmentationGrid(ds, compose([horizontalFlip({ p: 1 })]), { faces: 5, copies: 2 });
  nodeAssert.deepEqual(faces.map((g) => g.label), ["x", "F:hflip", "F:hflip", "y", "F:hflip", "F:hflip"]);
  nodeAssert.equal(faces[1].keypoints![0], 95 - 30); // left eye now where the mirrored right eye was
  nodeAssert.equal(faceGridRgb(faces, { columns: 3, scale: 1 }).height, 4 + 2 * (96 + 7 + 4));
});
