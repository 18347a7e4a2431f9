// predictFaces's guards against a broken prediction: a crop moved a little where the prediction lies
// outside its crop, and flip test-time augmentation that keeps the one prediction inside its crop.
import assert from "node:assert/strict";
import { NUM_COORDS } from "../lib/core/constants.ts";
import type { RawImage } from "../lib/core/image.ts";
import { cropBoxForDetection, fromCropCoords } from "../lib/data/crop.ts";
import { UsageError } from "../lib/core/errors.ts";
import { keypointsInsideCrop } from "../lib/face/framing.ts";
import { predictFaces } from "../lib/face/predict_io.ts";
import type { KeypointPredictor } from "../lib/models/types.ts";

/** A 400×400 photo whose pixels grow left to right (so a crop's first pixel tells where it starts). */
const PHOTO: RawImage = {
  width: 400,
  height: 400,
  data: Uint8Array.from({ length: 400 * 400 }, (_, i) => Math.floor((i % 400) * 255 / 399)),
};
const BOX = { x: 150, y: 150, width: 100, height: 100 };

/** Keypoints around the crop's centre, or 500 px outside it where `broken` says so for an input. */
function fakePredictor(broken: (image: Float32Array) => boolean): KeypointPredictor & { calls: number } {
  const self = {
    name: "fake",
    calls: 0,
    predict(images: Float32Array, n: number): Promise<Float32Array> {
      self.calls++;
      const out = new Float32Array(n * NUM_COORDS);
      for (let i = 0; i < n; i++) {
        const image = images.subarray(i * 96 * 96, (i + 1) * 96 * 96);
        for (let k = 0; k < NUM_COORDS; k++) out[i * NUM_COORDS + k] = broken(image) ? 500 : 40 + (k % 7);
      }
      return Promise.resolve(out);
    },
  };
  return self;
}

const asArray = (kp: Record<string, [number, number]>) => Object.values(kp).flat();

Deno.test("predictFaces: a prediction outside its crop is predicted again on the crop moved a little", async () => {
  const crop = cropBoxForDetection(BOX);
  const first = PHOTO.data[crop.y * 400 + crop.x] / 255;
  // Broken only on the detector's own crop (its first pixel), as the bundled model was on one LFPW face.
  const predictor = fakePredictor((image) => Math.abs(image[0] - first) < 1e-3);
  const [face] = await predictFaces(PHOTO, [BOX], predictor);
  assert.ok(keypointsInsideCrop(asArray(face.keypoints), crop), JSON.stringify(face.keypoints));
  assert.equal(predictor.calls, 2);
  // Broken everywhere: nothing better to keep, so the first prediction stays, and nothing fails.
  const hopeless = fakePredictor(() => true);
  const [kept] = await predictFaces(PHOTO, [BOX], hopeless);
  assert.ok(asArray(kept.keypoints).every((v) => v > 400));
  // A good first prediction costs nothing more.
  const fine = fakePredictor(() => false);
  await predictFaces(PHOTO, [BOX], fine);
  assert.equal(fine.calls, 1);
});

Deno.test("predictFaces: flip keeps the one prediction that lies inside its crop instead of a mean", async () => {
  // Broken on the mirror image only: there the pixels fall from left to right.
  const mirrorBroken = fakePredictor((image) => image[0] > image[95]);
  const [face] = await predictFaces(PHOTO, [BOX], mirrorBroken, { flip: true });
  const [plain] = await predictFaces(PHOTO, [BOX], fakePredictor(() => false));
  assert.deepEqual(face.keypoints, plain.keypoints);
});

Deno.test("predictFaces: scale TTA keeps the median of the crop and its scaled copies, inside their crops", async () => {
  const crop = cropBoxForDetection(BOX);
  // The same crop coordinates on every input: in the photo, a point that moves with the crop's scale.
  const at10 = fakePredictor(() => false);
  const plain = asArray((await predictFaces(PHOTO, [BOX], at10))[0].keypoints);
  const xAtScale = (f: number) => {
    const size = Math.round(crop.size * f), x = Math.round(crop.x + (crop.size - size) / 2);
    return fromCropCoords(40, 40, { x, y: x, size })[0]; // coordinate 0 of the fake is 40
  };
  // 0.8 and 1.25 on either side: the median is the crop's own prediction (a mean would not be, 1.25 − 1 ≠ 0.2).
  const calls = at10.calls;
  const around = asArray((await predictFaces(PHOTO, [BOX], at10, { scales: [0.8, 1.25] }))[0].keypoints);
  assert.deepEqual(around, plain);
  assert.equal(at10.calls - calls, 2, "the scaled crops in one batch");
  // Both smaller: the median is the middle one, 0.9.
  const smaller = asArray((await predictFaces(PHOTO, [BOX], at10, { scales: [0.8, 0.9] }))[0].keypoints);
  assert.ok(Math.abs(smaller[0] - xAtScale(0.9)) < 1e-9, `${smaller[0]} vs ${xAtScale(0.9)}`);
  assert.notEqual(smaller[0], plain[0]);
  // A prediction outside its scaled crop has no vote: the median of the other two is their mean.
  const brokenWhenSmall = fakePredictor((image) => image[0] > PHOTO.data[crop.y * 400 + crop.x] / 255 + 1e-3);
  const voted = asArray(
    (await predictFaces(PHOTO, [BOX], brokenWhenSmall, { scales: [0.8, 1.25] }))[0].keypoints,
  );
  assert.ok(Math.abs(voted[0] - (xAtScale(1) + xAtScale(1.25)) / 2) < 1e-9, `${voted[0]}`);
  await assert.rejects(predictFaces(PHOTO, [BOX], at10, { scales: [3] }), UsageError);
});
