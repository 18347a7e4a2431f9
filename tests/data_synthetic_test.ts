import assert from "node:assert/strict";
import { KEYPOINT_NAMES, NUM_COORDS } from "../lib/core/constants.ts";
import { assertDataset } from "../lib/data/dataset.ts";
import { PIXELS } from "../lib/core/constants.ts";
import { CORE_KEYPOINTS, syntheticDataset } from "../lib/data/synthetic.ts";
import { DataError, UsageError } from "../lib/core/errors.ts";
import type { KeypointDataset } from "../lib/data/types.ts";

const K = (name: typeof KEYPOINT_NAMES[number]) => KEYPOINT_NAMES.indexOf(name);

/** Bilinear sample of face i at (x, y) (pixel centres at integers). */
function at(ds: KeypointDataset, i: number, x: number, y: number): number {
  const x0 = Math.floor(x), y0 = Math.floor(y), fx = x - x0, fy = y - y0;
  const g = (xx: number, yy: number) =>
    ds.images[i * PIXELS + Math.min(95, Math.max(0, yy)) * 96 + Math.min(95, Math.max(0, xx))];
  return (1 - fy) * ((1 - fx) * g(x0, y0) + fx * g(x0 + 1, y0)) +
    fy * ((1 - fx) * g(x0, y0 + 1) + fx * g(x0 + 1, y0 + 1));
}

function point(ds: KeypointDataset, i: number, name: typeof KEYPOINT_NAMES[number]): [number, number] {
  const k = K(name);
  return [ds.keypoints[i * NUM_COORDS + 2 * k], ds.keypoints[i * NUM_COORDS + 2 * k + 1]];
}

/** Share of faces for which `f` holds. */
function share(ds: KeypointDataset, f: (i: number) => boolean): number {
  let hits = 0;
  for (let i = 0; i < ds.n; i++) if (f(i)) hits++;
  return hits / ds.n;
}

const complete = syntheticDataset({ n: 200, seed: 4, missingRate: 0 });

Deno.test("synthetic: same seed gives identical arrays, a different seed different faces", () => {
  const a = syntheticDataset({ n: 30, seed: 7 });
  const b = syntheticDataset({ n: 30, seed: 7 });
  const c = syntheticDataset({ n: 30, seed: 8 });
  assert.deepStrictEqual(a.images, b.images);
  assert.deepStrictEqual(a.keypoints, b.keypoints);
  assert.deepStrictEqual(a.mask, b.mask);
  assert.deepStrictEqual(a.groups, b.groups);
  assert.notDeepStrictEqual(a.images, c.images);
  assert.notDeepStrictEqual(a.keypoints, c.keypoints);
});

Deno.test("synthetic: the first k faces do not depend on n, nor the images on missingRate", () => {
  const small = syntheticDataset({ n: 10, seed: 3 });
  const big = syntheticDataset({ n: 25, seed: 3 });
  assert.deepStrictEqual(small.images, big.images.subarray(0, 10 * PIXELS));
  assert.deepStrictEqual(small.keypoints, big.keypoints.subarray(0, 10 * NUM_COORDS));
  assert.deepStrictEqual(small.groups, big.groups!.slice(0, 10));
  const full = syntheticDataset({ n: 10, seed: 3, missingRate: 0 });
  assert.deepStrictEqual(full.images, small.images);
});

Deno.test("synthetic: labelled synthetic, with ids and groups of a few faces each", () => {
  const ds = syntheticDataset({ n: 100, seed: 2 });
  assert.deepStrictEqual(ds.name, "synthetic:100 (seed 2)");
  assert.deepStrictEqual(ds.synthetic, true);
  assert.deepStrictEqual(ds.n, 100);
  assert.deepStrictEqual(ds.ids![0], "synthetic-0");
  assert.deepStrictEqual(ds.ids![99], "synthetic-99");
  const sizes = new Map<string, number>();
  for (const g of ds.groups!) sizes.set(g, (sizes.get(g) ?? 0) + 1);
  assert.ok(sizes.size >= 12 && sizes.size <= 60, `${sizes.size} groups for 100 faces`);
  assert.ok([...sizes.values()].some((s) => s >= 3), "some person has several faces");
  assert.ok(Math.max(...sizes.values()) <= 8);
});

Deno.test("synthetic: a valid dataset with every keypoint inside the image, left on the image's right", () => {
  const ds = syntheticDataset({ n: 300, seed: 5 });
  assertDataset(ds); // lengths, pixels in [0, 1], mask agreeing with NaN
  for (const v of ds.keypoints) assert.ok(Number.isNaN(v) || (v >= 0 && v <= 95), `keypoint ${v} outside`);
  for (let i = 0; i < complete.n; i++) {
    const x = (name: typeof KEYPOINT_NAMES[number]) => point(complete, i, name)[0];
    assert.ok(x("left_eye_center") > x("right_eye_center"), `face ${i}: the subject's left eye on the right`);
    assert.ok(x("left_eye_outer_corner") > x("left_eye_inner_corner"));
    assert.ok(x("right_eye_inner_corner") > x("right_eye_outer_corner"));
    assert.ok(x("mouth_left_corner") > x("mouth_right_corner"));
    assert.ok(point(complete, i, "mouth_center_bottom_lip")[1] > point(complete, i, "nose_tip")[1]);
  }
  // Not a constant face: the eye centres spread over a few pixels.
  const xs = Array.from({ length: complete.n }, (_, i) => point(complete, i, "left_eye_center")[0]);
  assert.ok(Math.max(...xs) - Math.min(...xs) > 6);
});

Deno.test("synthetic: keypoints go missing at about Kaggle's rate and pattern", () => {
  const ds = syntheticDataset({ n: 1000, seed: 1 });
  const core = new Set(CORE_KEYPOINTS.map(K));
  let incomplete = 0, coreOnly = 0;
  for (let i = 0; i < ds.n; i++) {
    const present = KEYPOINT_NAMES.map((_, k) => ds.mask[i * NUM_COORDS + 2 * k] === 1);
    for (const k of core) assert.ok(present[k], `face ${i} lacks a core keypoint`);
    KEYPOINT_NAMES.forEach((_, k) =>
      assert.strictEqual(ds.mask[i * NUM_COORDS + 2 * k + 1] === 1, present[k])
    );
    if (present.includes(false)) incomplete++;
    if (present.filter(Boolean).length === core.size) coreOnly++;
  }
  assert.ok(Math.abs(incomplete / ds.n - 0.7) < 0.05, `${incomplete} incomplete of ${ds.n}`);
  assert.ok(
    coreOnly / incomplete > 0.9,
    `${coreOnly} of ${incomplete} incomplete faces keep only the core 4`,
  );
  const half = syntheticDataset({ n: 400, seed: 1, missingRate: 0.3 });
  const halfIncomplete = share(half, (i) => half.mask.subarray(i * 30, i * 30 + 30).includes(0));
  assert.ok(Math.abs(halfIncomplete - 0.3) < 0.07, `missingRate 0.3 gave ${halfIncomplete}`);
  assert.ok(complete.mask.every((m) => m === 1), "missingRate 0: all 30 coordinates of every face");
  assert.ok(complete.keypoints.every((v) => Number.isFinite(v)));
});

Deno.test("synthetic: the eye centre is the dark iris between the bright whites towards the corners", () => {
  for (
    const [c, inner, outer] of [["left_eye_center", "left_eye_inner_corner", "left_eye_outer_corner"], [
      "right_eye_center",
      "right_eye_inner_corner",
      "right_eye_outer_corner",
    ]] as const
  ) {
    const ok = share(complete, (i) => {
      const [cx, cy] = point(complete, i, c);
      let white = 0;
      for (const corner of [inner, outer]) {
        const [qx, qy] = point(complete, i, corner);
        for (let t = 0.5; t <= 0.95; t += 0.05) {
          white = Math.max(white, at(complete, i, cx + t * (qx - cx), cy + t * (qy - cy)));
        }
      }
      return at(complete, i, cx, cy) < white - 0.15;
    });
    assert.deepStrictEqual(ok, 1, `${c}: ${ok * 100}% of faces`);
  }
});

Deno.test("synthetic: brows, mouth corners, lips and nose tip are where the features are drawn", () => {
  for (
    const [a, b] of [["left_eyebrow_inner_end", "left_eyebrow_outer_end"], [
      "right_eyebrow_inner_end",
      "right_eyebrow_outer_end",
    ]] as const
  ) {
    // Just inside the stroke from its inner end: darker than the skin 4 px below.
    const ok = share(complete, (i) => {
      const [ax, ay] = point(complete, i, a), [bx, by] = point(complete, i, b);
      const x = ax + 0.15 * (bx - ax), y = ay + 0.15 * (by - ay);
      return at(complete, i, x, y) < at(complete, i, x, y + 4) - 0.02;
    });
    assert.ok(ok >= 0.95, `${a}: ${ok}`);
  }
  // The mouth's corners are darker than the cheek 3 px further out along the mouth.
  const corners = share(complete, (i) => {
    const [lx, ly] = point(complete, i, "mouth_left_corner"),
      [rx, ry] = point(complete, i, "mouth_right_corner");
    const len = Math.hypot(lx - rx, ly - ry), ux = (lx - rx) / len, uy = (ly - ry) / len;
    return at(complete, i, lx, ly) < at(complete, i, lx + 3 * ux, ly + 3 * uy) - 0.02 &&
      at(complete, i, rx, ry) < at(complete, i, rx - 3 * ux, ry - 3 * uy) - 0.02;
  });
  assert.ok(corners >= 0.95, `mouth corners: ${corners}`);
  // Between the lip centres lies the dark mouth; outside them, skin.
  const lips = share(complete, (i) => {
    const [tx, ty] = point(complete, i, "mouth_center_top_lip"),
      [bx, by] = point(complete, i, "mouth_center_bottom_lip");
    const mid = at(complete, i, (tx + bx) / 2, (ty + by) / 2);
    return mid < at(complete, i, tx, ty - 2.5) && mid < at(complete, i, bx, by + 2.5);
  });
  assert.ok(lips >= 0.85, `lips: ${lips}`);
  // The nose tip catches the light; below it are the nostrils' shadow.
  const nose = share(complete, (i) => {
    const [x, y] = point(complete, i, "nose_tip");
    return at(complete, i, x, y) > at(complete, i, x, y + 3.5);
  });
  assert.ok(nose >= 0.95, `nose: ${nose}`);
});

Deno.test("synthetic: bad options are usage errors", () => {
  assert.throws(
    () => syntheticDataset({ n: 0 }),
    (e) => e instanceof UsageError && e.message.includes("positive integer"),
  );
  assert.throws(
    () => syntheticDataset({ n: 2.5 }),
    (e) => e instanceof UsageError && e.message.includes("positive integer"),
  );
  assert.throws(
    () => syntheticDataset({ n: 5, seed: 0.5 }),
    (e) => e instanceof UsageError && e.message.includes("seed"),
  );
  assert.throws(
    () => syntheticDataset({ n: 5, missingRate: 1.5 }),
    (e) => e instanceof UsageError && e.message.includes("missingRate"),
  );
  assert.throws(
    () => syntheticDataset({ n: 5, missingRate: NaN }),
    (e) => e instanceof UsageError && e.message.includes("missingRate"),
  );
});

Deno.test("assertDataset: a broken dataset is a DataError naming the dataset and the face", () => {
  const broken = (change: (ds: KeypointDataset) => void) => {
    const ds = syntheticDataset({ n: 3, seed: 1 });
    change(ds);
    return () => assertDataset(ds);
  };
  const says = (text: string) => (e: unknown) => e instanceof DataError && e.message.includes(text);
  assert.throws(broken((ds) => ds.images[2 * PIXELS + 5] = 1.5), says("face 2 has pixel value 1.5"));
  assert.throws(
    broken((ds) => (ds.keypoints[NUM_COORDS + 4] = NaN, ds.mask[NUM_COORDS + 4] = 1)),
    says("face 1 mask disagrees with NaN at 4"),
  );
  assert.throws(broken((ds) => ds.ids = ["a"]), says("1 ids for 3 faces"));
});
