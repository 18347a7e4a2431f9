/**
 * Phone photos of 48 megapixels and more: detection runs on a reduced copy (OpenCV.js runs out of wasm
 * memory near 27 MP), boxes come back in the photo's pixels, and one bad file does not stop a batch.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { IMAGE_SIZE, NUM_COORDS } from "../lib/core/constants.ts";
import { MAX_DETECT_SIDE, shrinkByFactor } from "../lib/face/detect.ts";
import { createFaceDetector } from "../lib/face/detect_io.ts";
import { DataError } from "../lib/core/errors.ts";
import { MAX_IMAGE_PIXELS, readGray } from "../lib/core/image_io.ts";
import { makeMetadata, saveKeypointModel } from "../lib/models/mod.ts";
import { runScript } from "./_cli.ts";

const ASTRONAUT = new URL("../data/portraits/astronaut.png", import.meta.url).pathname;
// The astronaut's face is at [177, 65, 96, 96] in the 512×512 portrait.
const FACE = [177, 65, 96, 96];

/** An 8000×6000 JPEG (48 MP) with the astronaut portrait enlarged 4× at (3000, 2000). */
async function phonePhoto(path: string): Promise<void> {
  const face = await sharp(ASTRONAUT).resize(2048, 2048).png().toBuffer();
  await sharp({ create: { width: 8000, height: 6000, channels: 3, background: "#808080" } })
    .composite([{ input: face, left: 3000, top: 2000 }])
    .jpeg({ quality: 80 })
    .toFile(path);
}

/** A PNG that is only a header claiming `width × height` pixels (reading it must stop at the header). */
function pngHeader(width: number, height: number): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const chunk = (type: string, body: Uint8Array) => {
    const out = new Uint8Array(12 + body.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, body.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(body, 8);
    let crc = 0xffffffff;
    for (const b of out.subarray(4, 8 + body.length)) crc = crcTable[(crc ^ b) & 0xff] ^ (crc >>> 8);
    view.setUint32(8 + body.length, (crc ^ 0xffffffff) >>> 0);
    return out;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit gray
  return new Uint8Array([
    ...[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    ...chunk("IHDR", ihdr),
    ...chunk("IDAT", new Uint8Array([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])), // empty zlib stream
    ...chunk("IEND", new Uint8Array(0)),
  ]);
}

Deno.test("shrinkByFactor: each output pixel is the mean of its k×k block, partial edge blocks too", () => {
  const gray = { data: Uint8Array.from({ length: 5 * 3 }, (_, i) => i * 10), width: 5, height: 3 };
  // Rows: 0 10 20 30 40 / 50 60 70 80 90 / 100 110 120 130 140
  assert.deepEqual(shrinkByFactor(gray, 2), {
    data: Uint8Array.from([30, 50, 65, 105, 125, 140]),
    width: 3,
    height: 2,
  });
});

Deno.test("detect: a 48 MP photo is searched reduced and its face comes back in the photo's pixels", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const photo = join(dir, "phone.jpg");
    await phonePhoto(photo);
    const detector = await createFaceDetector();
    const gray = await readGray(photo);
    assert.ok(Math.max(gray.width, gray.height) > MAX_DETECT_SIDE);
    const faces = detector.detect(gray);
    assert.equal(faces.length, 1, JSON.stringify(faces));
    const expected = [3000 + 4 * FACE[0], 2000 + 4 * FACE[1], 4 * FACE[2], 4 * FACE[3]];
    const got = [faces[0].x, faces[0].y, faces[0].width, faces[0].height];
    got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 20, `box ${got} vs ${expected}`));
    // OpenCV is still healthy afterwards: a normal photo gives its usual box.
    const small = detector.detect(await readGray(ASTRONAUT));
    assert.deepEqual(small.map((f) => [f.x, f.y, f.width, f.height]), [FACE]);
    detector.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readGray: an image beyond MAX_IMAGE_PIXELS is refused from its header, naming file and size", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "huge.png");
    await Deno.writeFile(file, pngHeader(20000, 15000));
    await assert.rejects(readGray(file), (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.equal(
        e.message,
        `${file}: image too large (20000×15000 = 300 MP; at most ${MAX_IMAGE_PIXELS / 1e6} MP are read)`,
      );
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task predict: a 48 MP photo, a bad file and a normal photo are all processed, exit 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const photo = join(dir, "phone.jpg"), bad = join(dir, "bad.jpg"), model = join(dir, "model");
    await phonePhoto(photo);
    await Deno.writeTextFile(bad, "not a photo\n");
    const constant = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1] }),
        tf.layers.dense({ units: NUM_COORDS, kernelInitializer: "zeros" }),
      ],
    });
    await saveKeypointModel(model, constant, makeMetadata("lenet", constant));
    constant.dispose();
    const { code, stdout, stderr } = await runScript("predict", [
      ...["--backend", "cpu", "--model", model, "--json", "--no-images"],
      ...[photo, bad, ASTRONAUT],
    ]);
    const lines = stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(code, 1, stderr);
    assert.deepEqual(lines.map((l) => l.file), [photo, bad, ASTRONAUT]);
    assert.deepEqual([lines[0].width, lines[0].height, lines[0].faces.length], [8000, 6000, 1]);
    assert.match(lines[1].error, /failed to decode/);
    // The astronaut's face first (the CNN detector also takes the round mission patch on her suit for a face,
    // said in the README).
    const [x, y, w, h] = lines[2].faces[0].box;
    assert.ok(
      Math.abs(x + w / 2 - 225) < 15 && Math.abs(y + h / 2 - 125) < 20,
      JSON.stringify(lines[2].faces),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
