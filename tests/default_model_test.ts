/**
 * The bundled model (`outputs/models/default`): small enough for git, documented by its metadata, and
 * sensible on a real portrait.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { createFaceDetector } from "../lib/face/detect_io.ts";
import { loadKeypointModel } from "../lib/models/mod.ts";
import { predictImageFile } from "../lib/face/predict_io.ts";

const DEFAULT = new URL("../outputs/models/default/", import.meta.url).pathname;
const ASTRONAUT = new URL("../data/portraits/astronaut.png", import.meta.url).pathname;

await tf.setBackend("cpu");

Deno.test("bundled model: at most 15 MB, trained here on ytf68 (+ 300-W), metrics recorded", async () => {
  let bytes = 0;
  for await (const e of Deno.readDir(DEFAULT)) {
    if (e.isFile) bytes += (await Deno.stat(join(DEFAULT, e.name))).size;
  }
  assert.ok(bytes <= 15 * 1024 * 1024, `the bundled model takes ${bytes} bytes`);
  const meta = JSON.parse(await Deno.readTextFile(join(DEFAULT, "metadata.json")));
  const training = meta.training;
  // Trained by the train task, or by the notebooks' full run (which trains the same way in a run folder).
  assert.match(
    training.config.command,
    /^(deno task train --model \S+ --data \.\.\/shared\/data\/ytf68|(\S+=\S+ )*deno task notebooks --full)/,
  );
  assert.match(training.data.name, /ytf68:training/);
  // Its metadata says how it was stored: float16 weights keep it small.
  assert.equal(meta.export?.weights, "float16");
  assert.ok(training.metrics.rmse_px > 0 && training.metrics.rmse_px < 10, JSON.stringify(training.metrics));
  // Calibrated on its training faces (deno task calibrate): each part's convention, the 300-W one by default.
  const cal = meta.calibration;
  assert.deepEqual(Object.keys(cal.conventions).sort(), [
    "300w",
    "afw",
    "helen_trainset",
    "lfpw_trainset",
    "ytf68",
  ]);
  assert.equal(cal.default, "300w");
  assert.equal(cal.measured.split, "training");
});

Deno.test("bundled model: on the astronaut portrait, eyes above nose above mouth, subject's left on the image's right", async () => {
  const model = await loadKeypointModel(DEFAULT);
  const detector = await createFaceDetector();
  try {
    const result = await predictImageFile(ASTRONAUT, detector, model);
    assert.equal(result.faces.length, 1);
    const [face] = result.faces;
    const k = face.keypoints;
    const [bx, by, bw, bh] = face.box;
    for (const [name, [x, y]] of Object.entries(k)) {
      assert.ok(x > bx - 0.25 * bw && x < bx + 1.25 * bw && y > by - 0.25 * bh && y < by + 1.25 * bh, name);
    }
    const eyesY = (k.left_eye_center[1] + k.right_eye_center[1]) / 2;
    const mouthY = (k.mouth_left_corner[1] + k.mouth_right_corner[1]) / 2;
    assert.ok(eyesY < k.nose_tip[1] && k.nose_tip[1] < mouthY, JSON.stringify(k));
    assert.ok(
      k.left_eye_center[0] > k.right_eye_center[0],
      "subject's left eye must be on the image's right",
    );
    assert.ok(k.mouth_left_corner[0] > k.mouth_right_corner[0]);
    assert.ok(k.left_eyebrow_inner_end[1] < k.left_eye_center[1]);
  } finally {
    detector.close();
    model.model.dispose();
  }
});
