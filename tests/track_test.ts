import assert from "node:assert/strict";
import { UsageError } from "../lib/core/errors.ts";
import { IMAGE_SIZE, KEYPOINT_NAMES } from "../lib/core/constants.ts";
import { toCropCoords } from "../lib/data/crop.ts";
import { type CropBox } from "../lib/core/box.ts";
import { cropToFace } from "../lib/data/crop_io.ts";
import type { Box } from "../lib/core/box.ts";
import { readGray, readRgb } from "../lib/core/image_io.ts";
import type { KeypointPredictor } from "../lib/models/types.ts";
import { cropBoxForDetection } from "../lib/data/crop.ts";
import {
  _fitMeanFace,
  FaceTracker,
  MEAN_FACE,
  meanFaceInCrop,
  meanFacePredictor,
} from "../lib/face/track.ts";
import { rgbToGrayBytes, shrinkCrop } from "../web/frame.ts";

/** A synthetic frame: one face, given by its landmark-box centre and size, moving from frame to frame. */
interface Frame {
  cx: number;
  cy: number;
  extent: number;
}

const truth = (f: Frame) => Float32Array.from(MEAN_FACE, (r, i) => (i % 2 ? f.cy : f.cx) + f.extent * r);

/**
 * Hooks where the "crop" carries its box and the frame, and the "model" returns the true keypoints in crop
 * coordinates (or garbage on the frames listed in `garbageOn`), so the tracker's bookkeeping is all that is tested.
 */
function fakeHooks(garbageOn = new Set<number>()) {
  const calls = { detect: 0, predict: 0 };
  const predictor: KeypointPredictor = {
    name: "truth",
    predict(images, n) {
      const out = new Float32Array(30 * n);
      for (let i = 0; i < n; i++) {
        const o = i * IMAGE_SIZE * IMAGE_SIZE;
        const box: CropBox = { x: images[o], y: images[o + 1], size: images[o + 2] };
        const t = truth({ cx: images[o + 3], cy: images[o + 4], extent: images[o + 5] });
        for (let k = 0; k < 15; k++) {
          const [u, v] = toCropCoords(t[2 * k], t[2 * k + 1], box);
          out[i * 30 + 2 * k] = u, out[i * 30 + 2 * k + 1] = v;
        }
        if (garbageOn.has(calls.predict)) { for (let k = 0; k < 30; k++) out[i * 30 + k] = (k * 37) % 96; }
      }
      calls.predict++;
      return Promise.resolve(out);
    },
  };
  return {
    calls,
    hooks: {
      detect(f: Frame): Box[] {
        calls.detect++;
        // A Haar-like box: landmark extent = 0.877 width, centre 0.165 width below the box centre.
        const w = Math.round(f.extent / 0.877);
        return [{
          x: Math.round(f.cx - w / 2),
          y: Math.round(f.cy - 0.165 * w - w / 2),
          width: w,
          height: w,
        }];
      },
      crop(f: Frame, box: CropBox) {
        const img = new Float32Array(IMAGE_SIZE * IMAGE_SIZE);
        img.set([box.x, box.y, box.size, f.cx, f.cy, f.extent]);
        return img;
      },
      predictor,
    },
  };
}

const frames: Frame[] = Array.from({ length: 12 }, (_, i) => ({ cx: 150 + 3 * i, cy: 120 + i, extent: 100 }));

Deno.test("_fitMeanFace: recovers centre and size of a scaled, shifted mean face with zero residual", () => {
  const fit = _fitMeanFace(truth({ cx: 200, cy: 150, extent: 80 }))!;
  assert.ok(
    Math.abs(fit.cx - 200) < 1e-3 && Math.abs(fit.cy - 150) < 1e-3 && Math.abs(fit.extent - 80) < 1e-3,
  );
  assert.ok(fit.residual < 1e-6);
  assert.equal(_fitMeanFace([1, 2, 3, 4]), undefined); // fewer than 3 points
  const scrambled = Float32Array.from({ length: 30 }, (_, k) => (k * 37) % 96);
  assert.ok((_fitMeanFace(scrambled)?.residual ?? Infinity) > 0.12, "a non-face does not fit");
});

Deno.test("tracker: detectEvery 1 runs the detector on every frame; keypoints land on the face", async () => {
  const { calls, hooks } = fakeHooks();
  const tracker = new FaceTracker(hooks);
  for (const [i, f] of frames.entries()) {
    const r = await tracker.process(f, i / 30, 640, 480);
    assert.ok(r.detected);
    assert.equal(r.faces.length, 1);
    const t = truth(f);
    KEYPOINT_NAMES.forEach((name, k) => {
      assert.ok(Math.abs(r.faces[0].keypoints[name][0] - t[2 * k]) < 1e-2, name);
      assert.ok(Math.abs(r.faces[0].keypoints[name][1] - t[2 * k + 1]) < 1e-2, name);
    });
  }
  assert.equal(calls.detect, 12);
});

Deno.test("tracker: detectEvery 5 detects on frames 0, 5, 10 and follows the face in between", async () => {
  const { calls, hooks } = fakeHooks();
  const tracker = new FaceTracker(hooks, { detectEvery: 5 });
  const ids = new Set<number>();
  for (const [i, f] of frames.entries()) {
    const r = await tracker.process(f, i / 30, 640, 480);
    assert.equal(r.detected, i % 5 === 0, `frame ${i}`);
    assert.equal(r.faces.length, 1);
    ids.add(r.faces[0].track);
    const nose = r.faces[0].keypoints.nose_tip, t = truth(f);
    assert.ok(Math.abs(nose[0] - t[20]) < 1e-2 && Math.abs(nose[1] - t[21]) < 1e-2, `frame ${i}: ${nose}`);
  }
  assert.equal(calls.detect, 3);
  assert.deepEqual([...ids], [1], "one face keeps one track number");
});

Deno.test("tracker: a face whose keypoints stop looking like a face is lost and re-detected at once", async () => {
  const { calls, hooks } = fakeHooks(new Set([3])); // the 4th predictor call returns garbage
  const tracker = new FaceTracker(hooks, { detectEvery: 100 });
  const detectedOn: number[] = [];
  for (const [i, f] of frames.slice(0, 6).entries()) {
    const r = await tracker.process(f, i / 30, 640, 480);
    if (r.detected) detectedOn.push(i);
    assert.equal(r.faces.length, 1, `frame ${i}`);
  }
  assert.deepEqual(detectedOn, [0, 3]);
  assert.equal(calls.detect, 2);
});

Deno.test("tracker: smoothing is applied per face; options are checked", async () => {
  const { hooks } = fakeHooks();
  const tracker = new FaceTracker(hooks, { smoothing: { kind: "ema", alpha: 0.5 } });
  await tracker.process(frames[0], 0, 640, 480);
  const r = await tracker.process(frames[4], 1, 640, 480); // moved 12 px right
  const t0 = truth(frames[0]), t4 = truth(frames[4]);
  assert.ok(Math.abs(r.faces[0].keypoints.nose_tip[0] - (t0[20] + t4[20]) / 2) < 1e-2);
  assert.throws(() => new FaceTracker(hooks, { detectEvery: 0 }), UsageError);
  assert.throws(() => new FaceTracker(hooks, { smoothing: { kind: "ema", alpha: 2 } }), UsageError);
});

Deno.test("meanFacePredictor: the mean face in the crop, eyes above nose above mouth", async () => {
  const p = meanFacePredictor();
  const out = await p.predict(new Float32Array(2 * 96 * 96), 2);
  assert.equal(out.length, 60);
  assert.deepEqual([...out.subarray(30)], [...meanFaceInCrop()]);
  assert.ok(out[1] < out[21] && out[21] < out[27], "eye y < nose y < top lip y");
  // The crop of a Haar-style box puts the mean face where the training crops had it.
  const box = cropBoxForDetection({ x: 100, y: 100, width: 114, height: 114 });
  assert.ok(box.size > 96);
});

const PORTRAIT = new URL("../data/portraits/grace_hopper.jpg", import.meta.url).pathname;

Deno.test("web/frame: gray within one level and shrunk crops within two (mean < 0.3) of the library's sharp versions", async () => {
  const gray = await readGray(PORTRAIT), rgb = await readRgb(PORTRAIT);
  const mine = rgbToGrayBytes(rgb.data, rgb.width, rgb.height, 3);
  let worst = 0;
  for (let i = 0; i < mine.length; i++) worst = Math.max(worst, Math.abs(mine[i] - gray.data[i]));
  assert.ok(worst <= 1, `gray differs by up to ${worst} levels`);
  for (const box of [{ x: 100, y: 60, size: 200 }, { x: -30, y: -20, size: 131 }, { x: 5, y: 5, size: 97 }]) {
    const a = await cropToFace(gray, box), b = shrinkCrop(gray, box);
    let d = 0, sum = 0;
    for (let i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]) * 255), sum += Math.abs(a[i] - b[i]);
    }
    assert.ok(d <= 2.01, `${JSON.stringify(box)}: up to ${d} levels apart`);
    assert.ok(sum / a.length * 255 < 0.3, `${JSON.stringify(box)}: mean ${sum / a.length * 255}`);
  }
  assert.throws(() => shrinkCrop(gray, { x: 0, y: 0, size: 96 }), UsageError);
});
