import { assertAlmostEquals, assertEquals, assertThrows } from "./_assert.ts";
import nodeAssert from "node:assert/strict";
import {
  augmentBatch,
  type AugmentPlan,
  brightness,
  compose,
  contrast,
  defaultAugmentation,
  expandDataset,
  gamma,
  gaussianBlur,
  gaussianNoise,
  horizontalFlip,
  rotate,
  scale,
  shift,
  shiftScaleRotate,
} from "../lib/augment/augment.ts";
import {
  FLIP_COLUMN_PAIRS,
  FLIP_KEYPOINT_PAIRS,
  KEYPOINT_COLUMNS,
  KEYPOINT_NAMES,
  PIXELS,
} from "../lib/core/constants.ts";
import { assertDataset } from "../lib/data/dataset.ts";
import type { KeypointDataset } from "../lib/data/types.ts";
import { UsageError } from "../lib/core/errors.ts";
import { Rng } from "../lib/core/rng.ts";

// Small shims over node:assert (the JSR standard library is not reachable from our machines).
function assert(cond: unknown, msg?: string): asserts cond {
  if (msg === undefined) nodeAssert.ok(cond);
  else nodeAssert.ok(cond, msg);
}
const assertNotEquals = (a: unknown, b: unknown) => nodeAssert.notDeepStrictEqual(a, b);

const N = 96;

/** A plausible face layout (subject's left on the image's right) with jitter, and a textured image. */
function testFace(seed: number): { image: Float32Array; keypoints: Float32Array } {
  const rng = new Rng(seed);
  const cx = 47.5 + rng.uniform(-5, 5), cy = 50 + rng.uniform(-5, 5), s = rng.uniform(0.85, 1.1);
  const layout = [
    [17, -12],
    [-17, -12],
    [9, -12],
    [25, -12],
    [-9, -12],
    [-25, -12],
    [7, -21],
    [27, -22],
    [-7, -21],
    [-27, -22],
    [0, 4],
    [14, 18],
    [-14, 18],
    [0, 14],
    [0, 23],
  ];
  const keypoints = new Float32Array(30);
  layout.forEach(([dx, dy], k) => {
    keypoints[2 * k] = cx + s * dx + rng.uniform(-1, 1);
    keypoints[2 * k + 1] = cy + s * dy + rng.uniform(-1, 1);
  });
  const image = new Float32Array(PIXELS);
  for (let y = 0; y < N; y++) {
    for (let x = 0; x < N; x++) image[y * N + x] = 0.5 + 0.3 * Math.sin(x / 7 + seed) * Math.cos(y / 5);
  }
  return { image, keypoints };
}

/** A blank image with one Gaussian dot (σ = 1.5 px, wide enough not to alias when zoomed out) at (x, y). */
function dotImage(x: number, y: number): Float32Array {
  const img = new Float32Array(PIXELS);
  for (let py = Math.max(0, Math.floor(y - 8)); py <= Math.min(N - 1, Math.ceil(y + 8)); py++) {
    for (let px = Math.max(0, Math.floor(x - 8)); px <= Math.min(N - 1, Math.ceil(x + 8)); px++) {
      img[py * N + px] = Math.exp(-((px - x) ** 2 + (py - y) ** 2) / (2 * 1.5 ** 2));
    }
  }
  return img;
}

/** Total intensity and its weighted centroid. */
function centroid(img: Float32Array): { mass: number; x: number; y: number } {
  let m = 0, sx = 0, sy = 0;
  for (let y = 0; y < N; y++) {
    for (let x = 0; x < N; x++) {
      const v = img[y * N + x];
      m += v;
      sx += v * x;
      sy += v * y;
    }
  }
  return { mass: m, x: sx / m, y: sy / m };
}

const mirroredIndex = (k: number) => {
  for (const [l, r] of FLIP_KEYPOINT_PAIRS) {
    if (k === l) return r;
    if (k === r) return l;
  }
  return k;
};

const planMirrors = (plan: AugmentPlan) =>
  plan.steps.reduce((m, s) => (s.kind === "affine" ? m !== s.mirrored : m), false);

const planDet = (plan: AugmentPlan) =>
  plan.steps.reduce(
    (d, s) => (s.kind === "affine" ? d * Math.abs(s.matrix[0] * s.matrix[4] - s.matrix[1] * s.matrix[3]) : d),
    1,
  );

const inside = (x: number, y: number, m: number) =>
  x >= m - 0.5 && y >= m - 0.5 && x <= 95.5 - m && y <= 95.5 - m;

Deno.test("geometry: each keypoint's dot is found at its transformed keypoint (200 random seeds, incl. flips)", () => {
  let checked = 0, masked = 0, flips = 0, maxErr = 0;
  for (let seed = 0; seed < 200; seed++) {
    const rng = new Rng(seed);
    const aug = compose([
      horizontalFlip({ p: 0.5 }),
      rotate({ p: 0.8, limit: 40 }),
      scale({ p: 0.8, range: [0.75, 1.3] }),
      shift({ p: 0.8, limit: 0.2 }),
    ], { keepEyes: false, fill: seed % 2 ? "edge" : "constant" });
    // Points anywhere in the frame, so that some leave it.
    const kp = new Float32Array(30);
    for (let i = 0; i < 30; i++) kp[i] = rng.uniform(7, 88);
    const plan = aug.sample(kp, rng);
    const mirrored = planMirrors(plan);
    if (mirrored) flips++;
    const det = planDet(plan);
    for (let k = 0; k < 15; k++) {
      const out = aug.replay(dotImage(kp[2 * k], kp[2 * k + 1]), kp, plan);
      const j = mirrored ? mirroredIndex(k) : k; // after a flip, k's dot is named by its partner
      const ex = out.keypoints[2 * j], ey = out.keypoints[2 * j + 1];
      const found = centroid(out.image);
      const expectedMass = 2 * Math.PI * 1.5 ** 2 * det;
      if (Number.isNaN(ex)) {
        assert(Number.isNaN(ey), `seed ${seed} point ${k}: x masked but not y`);
        // The dot's centre left the frame: at most about half of it can remain.
        assert(
          found.mass < 0.6 * expectedMass,
          `seed ${seed} point ${k}: masked but its dot is still in frame`,
        );
        masked++;
        continue;
      }
      if (!inside(ex, ey, 7)) continue; // a dot cut by the border has a biased centroid
      assertAlmostEquals(found.mass / expectedMass, 1, 0.05, `seed ${seed} point ${k}: dot mass`);
      const err = Math.hypot(found.x - ex, found.y - ey);
      maxErr = Math.max(maxErr, err);
      assert(
        err < 1,
        `seed ${seed} ${KEYPOINT_NAMES[k]} (→ ${KEYPOINT_NAMES[j]}): dot at (${found.x.toFixed(2)}, ${
          found.y.toFixed(2)
        }), keypoint says (${ex.toFixed(2)}, ${ey.toFixed(2)})`,
      );
      checked++;
    }
  }
  // The property was exercised in every regime, and far tighter than the 1 px bound.
  assert(checked > 2000 && masked > 20 && flips > 60, `checked ${checked}, masked ${masked}, flips ${flips}`);
  console.log(
    `geometry: ${checked} dots checked, ${masked} masked, ${flips} flipped draws; largest error ${
      maxErr.toFixed(3)
    } px`,
  );
  assert(maxErr < 0.2, `largest error ${maxErr} px`);
});

Deno.test("geometry: rotation matches an independent formula (x and y both from the original point)", () => {
  const kp = new Float32Array(30).fill(NaN);
  kp[0] = 30;
  kp[1] = 40; // left_eye_center
  kp[2] = 60.25;
  kp[3] = 20.5; // right_eye_center
  for (const deg of [90, -90, 37, -12.5]) {
    const out = compose([rotate({ p: 1, limit: [deg, deg] })], { keepEyes: false }).apply(
      new Float32Array(PIXELS),
      kp,
      new Rng(0),
    );
    const t = deg * Math.PI / 180, c = 47.5;
    for (const k of [0, 1]) {
      const dx = kp[2 * k] - c, dy = kp[2 * k + 1] - c;
      // Counter-clockwise on screen with y down.
      assertAlmostEquals(out.keypoints[2 * k], c + Math.cos(t) * dx + Math.sin(t) * dy, 1e-4);
      assertAlmostEquals(out.keypoints[2 * k + 1], c - Math.sin(t) * dx + Math.cos(t) * dy, 1e-4);
    }
  }
  // +90°: a point left of centre goes to the bottom; the image is rotated the same way, exactly.
  const { image } = testFace(3);
  const out = compose([rotate({ p: 1, limit: [90, 90] })], { keepEyes: false }).apply(image, kp, new Rng(0));
  assertAlmostEquals(out.keypoints[0], 40, 1e-4);
  assertAlmostEquals(out.keypoints[1], 65, 1e-4);
  for (const [x, y] of [[0, 0], [10, 3], [95, 95], [47, 80]]) {
    // (x, y) → (y, 95 − x)
    assertAlmostEquals(out.image[(95 - x) * N + y], image[y * N + x], 1e-5);
  }
});

Deno.test("geometry: shift and scale move points as documented", () => {
  const kp = new Float32Array(30).fill(NaN);
  kp[0] = 57.5;
  kp[1] = 47.5;
  const shifted = compose([shift({ p: 1, limit: [0.1, 0.1] })]).apply(
    new Float32Array(PIXELS),
    kp,
    new Rng(0),
  );
  assertAlmostEquals(shifted.keypoints[0], 57.5 + 9.6, 1e-4);
  assertAlmostEquals(shifted.keypoints[1], 47.5 + 9.6, 1e-4);
  const zoomed = compose([scale({ p: 1, range: [2, 2] })]).apply(new Float32Array(PIXELS), kp, new Rng(0));
  assertAlmostEquals(zoomed.keypoints[0], 67.5, 1e-4); // 10 px right of the centre → 20 px
  assertAlmostEquals(zoomed.keypoints[1], 47.5, 1e-4);
});

Deno.test("flip: twice is the identity; once swaps every left/right pair by name", () => {
  const flip = compose([horizontalFlip({ p: 1 })]);
  for (let seed = 0; seed < 5; seed++) {
    const face = testFace(seed);
    const once = flip.apply(face.image, face.keypoints, new Rng(seed));
    const twice = flip.apply(once.image, once.keypoints, new Rng(seed));
    assertEquals(twice.image, face.image);
    for (let i = 0; i < 30; i++) assertAlmostEquals(twice.keypoints[i], face.keypoints[i], 1e-4);
    // Image: column x becomes column 95 − x, exactly.
    for (let y = 0; y < N; y += 7) {
      for (let x = 0; x < N; x++) assertEquals(once.image[y * N + 95 - x], face.image[y * N + x]);
    }
    // By name: left_eye_center now holds what was right_eye_center, mirrored.
    const col = (name: string) => KEYPOINT_COLUMNS.indexOf(name);
    for (const name of KEYPOINT_NAMES) {
      const partner = name.includes("left") ? name.replace("left", "right") : name.replace("right", "left");
      assertAlmostEquals(once.keypoints[col(`${name}_x`)], 95 - face.keypoints[col(`${partner}_x`)], 1e-4);
      assertAlmostEquals(once.keypoints[col(`${name}_y`)], face.keypoints[col(`${partner}_y`)], 1e-4);
    }
    // All 12 column pairs, from the constants.
    assertEquals(FLIP_COLUMN_PAIRS.length, 12);
    for (const [a, b] of FLIP_COLUMN_PAIRS) {
      const mirror = (v: number) => (a % 2 === 0 ? 95 - v : v);
      assertAlmostEquals(once.keypoints[a], mirror(face.keypoints[b]), 1e-4);
      assertAlmostEquals(once.keypoints[b], mirror(face.keypoints[a]), 1e-4);
    }
  }
  // Two flips in one compose merge to one identity matrix with no swap.
  const plan = compose([horizontalFlip({ p: 1 }), horizontalFlip({ p: 1 })]).sample(
    new Float32Array(30),
    new Rng(0),
  );
  assertEquals(plan.steps.length, 1);
  assert(plan.steps[0].kind === "affine" && !plan.steps[0].mirrored);
  assertEquals(plan.steps[0].kind === "affine" && [...plan.steps[0].matrix], [1, 0, 0, 0, 1, 0]);
});

Deno.test("seeding: same seed gives the same output, different seeds differ, plans replay from JSON", () => {
  const aug = compose([...defaultAugmentation().transforms, gaussianNoise({ p: 1 })]);
  const face = testFace(1);
  const a = aug.apply(face.image, face.keypoints, new Rng(42));
  const b = aug.apply(face.image, face.keypoints, new Rng(42));
  const c = aug.apply(face.image, face.keypoints, new Rng(43));
  assertEquals(a.image, b.image);
  assertEquals(a.keypoints, b.keypoints);
  assertNotEquals(a.image, c.image);
  const plan = aug.sample(face.keypoints, new Rng(7));
  const replayed = aug.replay(face.image, face.keypoints, JSON.parse(JSON.stringify(plan)));
  assertEquals(replayed, aug.apply(face.image, face.keypoints, new Rng(7)));
});

Deno.test("inputs are untouched and outputs are new arrays", () => {
  const face = testFace(2);
  const image = face.image.slice(), keypoints = face.keypoints.slice();
  const out = compose([shiftScaleRotate({ p: 1 }), brightness({ p: 1 })]).apply(image, keypoints, new Rng(0));
  assertEquals(image, face.image);
  assertEquals(keypoints, face.keypoints);
  assert(out.image !== image && out.keypoints !== keypoints);
  // No transform fired: an equal copy, still a new array.
  const none = compose([rotate({ p: 0 })]).apply(image, keypoints, new Rng(0));
  assert(none.image !== image);
  assertEquals(none.image, image);
  assertEquals(none.keypoints, keypoints);
});

Deno.test("photometric transforms never move a keypoint and keep pixels in [0, 1]", () => {
  const photo = compose([
    brightness({ p: 1, limit: 0.5 }),
    contrast({ p: 1, range: [0.3, 2] }),
    gamma({ p: 1, range: [0.5, 2] }),
    gaussianNoise({ p: 1, std: [0.1, 0.2] }),
    gaussianBlur({ p: 1 }),
  ]);
  for (let seed = 0; seed < 20; seed++) {
    const face = testFace(seed);
    face.keypoints[20] = face.keypoints[21] = NaN;
    const out = photo.apply(face.image, face.keypoints, new Rng(seed));
    assertEquals(out.keypoints, face.keypoints);
    assertNotEquals(out.image, face.image);
    assert(out.image.every((v) => v >= 0 && v <= 1));
  }
});

Deno.test("gaussianNoise has the drawn standard deviation and zero mean", () => {
  const image = new Float32Array(PIXELS).fill(0.5);
  const out = compose([gaussianNoise({ p: 1, std: [0.05, 0.05] })]).apply(
    image,
    new Float32Array(30),
    new Rng(1),
  );
  const mean = out.image.reduce((a, v) => a + v, 0) / PIXELS;
  const sd = Math.sqrt(out.image.reduce((a, v) => a + (v - mean) ** 2, 0) / PIXELS);
  assertAlmostEquals(mean, 0.5, 0.002);
  assertAlmostEquals(sd, 0.05, 0.002);
  // Neighbouring pixels (the two normals of one pair) are uncorrelated.
  let c = 0;
  for (let i = 0; i < PIXELS; i += 2) c += (out.image[i] - 0.5) * (out.image[i + 1] - 0.5);
  assertAlmostEquals(c / (PIXELS / 2) / 0.05 ** 2, 0, 0.05);
});

Deno.test("masking: points pushed out of the frame become NaN, never clipped; NaN stays NaN", () => {
  const face = testFace(0);
  const out = compose([shift({ p: 1, x: [0.5, 0.5], y: 0 })], { keepEyes: false }).apply(
    face.image,
    face.keypoints,
    new Rng(0),
  );
  let lost = 0;
  for (let k = 0; k < 15; k++) {
    const x = face.keypoints[2 * k] + 48;
    if (x > 95.5) {
      assert(
        Number.isNaN(out.keypoints[2 * k]) && Number.isNaN(out.keypoints[2 * k + 1]),
        `${KEYPOINT_NAMES[k]}`,
      );
      lost++;
    } else {
      assertAlmostEquals(out.keypoints[2 * k], x, 1e-4);
    }
  }
  assert(lost >= 3 && lost <= 12, `lost ${lost}`);
  const batch = augmentBatch(
    compose([shift({ p: 1, x: [0.5, 0.5], y: 0 })], { keepEyes: false }),
    face.image,
    face.keypoints,
    1,
    new Rng(0),
  );
  for (let i = 0; i < 30; i++) assertEquals(batch.mask[i], Number.isNaN(batch.keypoints[i]) ? 0 : 1);

  const aug = compose([horizontalFlip(), shiftScaleRotate({ p: 1, rotate: 90 })], { keepEyes: false });
  for (let seed = 0; seed < 100; seed++) {
    const f = testFace(seed);
    const missing = [3, 10, 14];
    for (const k of missing) f.keypoints[2 * k] = f.keypoints[2 * k + 1] = NaN;
    const res = aug.apply(f.image, f.keypoints, new Rng(seed));
    const plan = aug.sample(f.keypoints, new Rng(seed));
    for (const k of missing) {
      const j = planMirrors(plan) ? mirroredIndex(k) : k;
      assert(Number.isNaN(res.keypoints[2 * j]) && Number.isNaN(res.keypoints[2 * j + 1]), `seed ${seed}`);
    }
    assert(res.keypoints.every((v) => Number.isNaN(v) || (v >= -0.5 && v <= 95.5)));
  }
});

Deno.test("keepEyes: rejected draws are redrawn so present eye centres stay in frame", () => {
  const wild = [shift({ p: 1, limit: 0.45 }), rotate({ p: 1, limit: 60 })];
  const eyesIn = (kp: Float32Array) =>
    [0, 1].every((k) => !Number.isNaN(kp[2 * k]) && inside(kp[2 * k], kp[2 * k + 1], 0));
  let lostWithout = 0, rejected = 0;
  for (let seed = 0; seed < 200; seed++) {
    const f = testFace(seed);
    const kept = compose(wild, { keepEyes: true, maxRetries: 50 });
    const plan = kept.sample(f.keypoints, new Rng(seed));
    rejected += plan.rejected;
    assert(!plan.fellBack);
    assert(eyesIn(kept.replay(f.image, f.keypoints, plan).keypoints), `seed ${seed}`);
    if (!eyesIn(compose(wild, { keepEyes: false }).apply(f.image, f.keypoints, new Rng(seed)).keypoints)) {
      lostWithout++;
    }
  }
  assert(
    lostWithout > 20 && rejected >= lostWithout,
    `lost ${lostWithout} without the option, rejected ${rejected}`,
  );
  // A transform that always loses the eyes: after maxRetries the geometry is dropped, pixel steps kept.
  const f = testFace(0);
  const hopeless = compose([shift({ p: 1, limit: [0.9, 0.9] }), brightness({ p: 1, limit: [0.1, 0.1] })], {
    maxRetries: 3,
  });
  const plan = hopeless.sample(f.keypoints, new Rng(0));
  assertEquals(plan.rejected, 4);
  assert(plan.fellBack);
  const out = hopeless.replay(f.image, f.keypoints, plan);
  assertEquals(out.keypoints, f.keypoints);
  assertAlmostEquals(out.image[500], Math.min(1, f.image[500] + 0.1), 1e-6);
});

Deno.test("order is kept: a pixel step between geometric ones splits the merged matrix", () => {
  const aug = compose([rotate({ p: 1 }), scale({ p: 1 }), brightness({ p: 1 }), horizontalFlip({ p: 1 })]);
  const plan = aug.sample(testFace(0).keypoints, new Rng(0));
  assertEquals(plan.steps.map((s) => s.kind === "affine" ? s.names.join("+") : s.name), [
    "rotate+scale",
    "brightness",
    "hflip",
  ]);
  // Fill is applied before the brightness step, so constant-filled corners get brightened.
  const fill = compose([rotate({ p: 1, limit: [45, 45] }), brightness({ p: 1, limit: [0.2, 0.2] })], {
    fill: "constant",
    fillValue: 0.3,
    keepEyes: false,
  }).apply(testFace(0).image, testFace(0).keypoints, new Rng(0));
  assertAlmostEquals(fill.image[0], 0.5, 1e-6);
});

Deno.test("fill modes: constant uses its value, edge repeats the border", () => {
  const image = new Float32Array(PIXELS).fill(0.8);
  const kp = new Float32Array(30).fill(NaN);
  const rot = (fill: "constant" | "edge") =>
    compose([rotate({ p: 1, limit: [45, 45] })], { fill, fillValue: 0.1 }).apply(image, kp, new Rng(0)).image;
  assertAlmostEquals(rot("constant")[0], 0.1, 1e-6);
  assertAlmostEquals(rot("edge")[0], 0.8, 1e-6);
  assertAlmostEquals(rot("constant")[48 * N + 48], 0.8, 1e-6);
});

Deno.test("augmentBatch equals per-face apply with the same random stream", () => {
  const aug = defaultAugmentation();
  const n = 5;
  const images = new Float32Array(n * PIXELS), keypoints = new Float32Array(n * 30);
  for (let i = 0; i < n; i++) {
    const f = testFace(i);
    images.set(f.image, i * PIXELS);
    keypoints.set(f.keypoints, i * 30);
  }
  const batch = augmentBatch(aug, images, keypoints, n, new Rng(9));
  assertEquals(batch.images.length, n * PIXELS);
  const rng = new Rng(9);
  for (let i = 0; i < n; i++) {
    const one = aug.apply(
      images.subarray(i * PIXELS, (i + 1) * PIXELS),
      keypoints.subarray(i * 30, (i + 1) * 30),
      rng,
    );
    assertEquals(batch.images.subarray(i * PIXELS, (i + 1) * PIXELS), one.image);
    assertEquals(batch.keypoints.subarray(i * 30, (i + 1) * 30), one.keypoints);
  }
  assertThrows(() => augmentBatch(aug, images, keypoints, n + 1, new Rng(0)), UsageError);
});

Deno.test("expandDataset: originals then N copies, ids suffixed, groups kept, mask recomputed, seeded", () => {
  const n = 4;
  const ds: KeypointDataset = {
    name: "test faces",
    synthetic: true,
    n,
    images: new Float32Array(n * PIXELS),
    keypoints: new Float32Array(n * 30),
    mask: new Uint8Array(n * 30),
    ids: ["a", "b", "c", "d"],
  };
  for (let i = 0; i < n; i++) {
    const f = testFace(i);
    ds.images.set(f.image, i * PIXELS);
    ds.keypoints.set(f.keypoints, i * 30);
  }
  ds.keypoints[31] = ds.keypoints[30] = NaN;
  for (let i = 0; i < n * 30; i++) ds.mask[i] = Number.isNaN(ds.keypoints[i]) ? 0 : 1;
  const aug = compose([horizontalFlip(), shiftScaleRotate({ p: 1, shift: 0.3 })], { keepEyes: false });
  const big = expandDataset(ds, aug, 2, 5);
  assertDataset(big);
  assertEquals(big.n, 12);
  assertEquals(big.ids, [
    "a",
    "b",
    "c",
    "d",
    "a~aug1",
    "b~aug1",
    "c~aug1",
    "d~aug1",
    "a~aug2",
    "b~aug2",
    "c~aug2",
    "d~aug2",
  ]);
  assertEquals(big.groups, ["a", "b", "c", "d", "a", "b", "c", "d", "a", "b", "c", "d"]);
  assertEquals(big.images.subarray(0, n * PIXELS), ds.images);
  assertEquals(big.keypoints.subarray(0, n * 30), ds.keypoints);
  assertNotEquals(big.images.subarray(n * PIXELS, 2 * n * PIXELS), ds.images);
  assert(big.mask.subarray(n * 30).some((m) => m === 0), "some augmented points are masked");
  assertEquals(expandDataset(ds, aug, 2, 5).images, big.images);
  assertNotEquals(expandDataset(ds, aug, 2, 6).images, big.images);
  // Source groups win over ids; no ids → face indices.
  const grouped = expandDataset({ ...ds, ids: undefined, groups: ["p", "p", "q", "q"] }, aug, 1, 0);
  assertEquals(grouped.ids, ["0", "1", "2", "3", "0~aug1", "1~aug1", "2~aug1", "3~aug1"]);
  assertEquals(grouped.groups, ["p", "p", "q", "q", "p", "p", "q", "q"]);
  assertEquals(expandDataset(ds, aug, 0, 0).n, n);
  assertThrows(() => expandDataset(ds, aug, -1, 0), UsageError);
});

Deno.test("bad arguments raise UsageError naming the value", () => {
  assertThrows(() => rotate({ p: 1.5 }), UsageError, "1.5");
  assertThrows(() => scale({ range: [1.2, 0.8] }), UsageError);
  assertThrows(() => scale({ range: [0, 1] }), UsageError);
  assertThrows(() => gamma({ range: [0, 2] }), UsageError);
  assertThrows(() => compose([rotate()], { fillValue: 2 }), UsageError, "2");
  assertThrows(() => compose([rotate()], { maxRetries: -1 }), UsageError);
  const aug = defaultAugmentation();
  assertThrows(() => aug.apply(new Float32Array(100), new Float32Array(30), new Rng(0)), UsageError, "100");
  assertThrows(() => aug.apply(new Float32Array(PIXELS), new Float32Array(28), new Rng(0)), UsageError, "28");
});

Deno.test("describe lists every transform with its parameters", () => {
  const text = defaultAugmentation().describe();
  for (
    const name of [
      "hflip",
      "rotate",
      "scale",
      "shift",
      "brightness",
      "contrast",
      "fill=edge",
      "keepEyes=true",
    ]
  ) {
    assert(text.includes(name), `${name} missing from:\n${text}`);
  }
  assert(text.includes("degrees=[-15,15]"), text);
});
