import assert from "node:assert/strict";
import { join } from "node:path";
import { createFaceDetector } from "../lib/face/detect_io.ts";
import { DataError, UsageError } from "../lib/core/errors.ts";
import type { KeypointPredictor } from "../lib/models/types.ts";
import { meanFacePredictor } from "../lib/face/track.ts";
import {
  ffmpegAvailable,
  isVideoFile,
  openVideoWriter,
  probeVideo,
  readVideoFrames,
  type VideoFrame,
} from "../lib/video/ffmpeg_io.ts";
import { framesFromImages, writeY4m } from "./_video_fixtures.ts";
import { frameJson, predictVideoFile, type VideoFrameResult } from "../lib/video/pipeline_io.ts";

const HAVE_FFMPEG = await ffmpegAvailable();
const YTF = new URL("../../shared/data/ytf68/training/", import.meta.url).pathname;
const HAVE_YTF = await Deno.stat(YTF).then(() => true, () => false);
/** One person's frames (they come from one video); all 12 have one Haar face when fitted into 320×240. */
const PERSON = "Ethan_Hawke";

/** A 36-frame, 10 fps, 320×240 Y4M of one person's 12 ytf68 frames, each shown 3 times. */
async function personY4m(dir: string): Promise<string> {
  const files = [...Deno.readDirSync(YTF)].map((e) => e.name).filter((n) => n.startsWith(`${PERSON}_`))
    .sort();
  assert.equal(files.length, 12);
  const frames = await framesFromImages(files.map((f) => join(YTF, f)), {
    width: 320,
    height: 240,
    repeat: 3,
  });
  const path = join(dir, "person.y4m");
  await writeY4m(path, frames, { width: 320, height: 240, fps: 10 });
  return path;
}

/** A 4×2 test card: each pixel a distinct colour. */
function card(shift: number): Uint8Array {
  const rgb = new Uint8Array(8 * 4 * 3);
  for (let i = 0; i < 32; i++) rgb.set([(i * 8 + shift) % 256, 255 - i * 8, 128], 3 * i);
  return rgb;
}

Deno.test("isVideoFile: by extension, case-insensitive", () => {
  for (const f of ["a.mp4", "b.WEBM", "c.avi", "d.y4m", "e.mov", "f.mkv"]) assert.ok(isVideoFile(f), f);
  for (const f of ["a.png", "b.jpg", "c.gif", "mp4", "dir/"]) assert.ok(!isVideoFile(f), f);
});

Deno.test({
  name: "video: a Y4M written here probes and decodes back to the same frames",
  ignore: !HAVE_FFMPEG,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = join(dir, "card.y4m");
      // Flat 2×2 blocks survive 4:2:0 chroma subsampling.
      const flat = (v: number) => {
        const rgb = new Uint8Array(8 * 4 * 3);
        for (let i = 0; i < 32; i++) rgb.set([v, 255 - v, 100], 3 * i);
        return rgb;
      };
      await writeY4m(path, [flat(40), flat(120), flat(200)], { width: 8, height: 4, fps: "25" });
      const info = await probeVideo(path);
      assert.equal(info.width, 8);
      assert.equal(info.height, 4);
      assert.equal(info.fps, 25);
      const frames: VideoFrame[] = [];
      for await (const f of readVideoFrames(path)) frames.push(f);
      assert.deepEqual(frames.map((f) => f.index), [0, 1, 2]);
      assert.deepEqual(frames.map((f) => f.time), [0, 0.04, 0.08]);
      for (const [i, v] of [40, 120, 200].entries()) {
        const [r, g, b] = frames[i].rgb;
        assert.ok(
          Math.abs(r - v) <= 3 && Math.abs(g - (255 - v)) <= 3 && Math.abs(b - 100) <= 3,
          `${r} ${g} ${b}`,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "video: the writer encodes H.264 MP4 with the frame rate, size and frame count given",
  ignore: !HAVE_FFMPEG,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const w = await openVideoWriter(join(dir, "out.avi"), { width: 8, height: 4, fps: "30000/1001" });
      assert.equal(w.encoder.encoder, "libx264");
      assert.ok(w.path.endsWith("out.mp4"));
      for (let i = 0; i < 5; i++) await w.write(card(i));
      await assert.rejects(() => w.write(new Uint8Array(3)), /needs 96 RGB bytes/);
      await w.close();
      const info = await probeVideo(w.path);
      assert.deepEqual([info.width, info.height, info.fpsText, info.frames, info.codec], [
        8,
        4,
        "30000/1001",
        5,
        "h264",
      ]);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["out.mp4"], "no temporary file left");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "video: a file that is not a video, or is missing, is a DataError naming it",
  ignore: !HAVE_FFMPEG,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const bad = join(dir, "notes.mp4");
      await Deno.writeTextFile(bad, "this is not a video\n");
      const named = (file: string) => (e: unknown) =>
        e instanceof DataError && e.message.startsWith(`${file}: `);
      await assert.rejects(() => probeVideo(bad), named(bad));
      await assert.rejects(() => probeVideo(join(dir, "gone.mp4")), named(join(dir, "gone.mp4")));
      await assert.rejects(async () => {
        for await (const _ of readVideoFrames(bad)) { /* nothing */ }
      }, named(bad));
      const detector = await createFaceDetector();
      await assert.rejects(() => predictVideoFile(bad, detector, meanFacePredictor()), named(bad));
      detector.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "predictVideoFile: real frames of one person: a face with 15 keypoints per frame, JSON and annotated MP4",
  ignore: !HAVE_FFMPEG || !HAVE_YTF,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const video = await personY4m(dir);
      const detector = await createFaceDetector();
      const results: VideoFrameResult[] = [];
      const summary = await predictVideoFile(video, detector, meanFacePredictor(), {
        out: join(dir, "out", "person.mp4"),
        onFrame: (r) => results.push(r),
      });
      assert.equal(summary.frames, 36);
      assert.equal(summary.processed, 36);
      assert.equal(summary.detections, 36);
      assert.equal(summary.failed, 0);
      assert.ok(summary.framesPerSecond > 0);
      assert.equal(results.length, 36);
      for (const r of results) {
        assert.equal(r.faces.length, 1, `frame ${r.frame}`);
        const k = r.faces[0].keypoints;
        assert.equal(Object.keys(k).length, 15);
        assert.ok(k.left_eye_center[1] < k.nose_tip[1] && k.nose_tip[1] < k.mouth_center_bottom_lip[1]);
        assert.ok(
          k.right_eye_center[0] < k.left_eye_center[0],
          "the subject's left eye is on the image's right",
        );
      }
      const line = JSON.parse(frameJson(results[5]));
      assert.deepEqual(Object.keys(line), ["file", "frame", "time", "faces"]);
      assert.deepEqual([line.file, line.frame, line.time], [video, 5, 0.5]);
      assert.deepEqual(Object.keys(line.faces[0]), ["box", "keypoints", "track", "detected"]);
      const out = await probeVideo(summary.output!);
      assert.deepEqual([out.width, out.height, out.fps, out.frames], [320, 240, 10, 36]);
      // The annotation changed pixels: the output is not the input re-encoded.
      const first = (await readVideoFrames(summary.output!).next()).value!;
      const orig = (await readVideoFrames(video).next()).value!;
      let changed = 0;
      for (let i = 0; i < first.rgb.length; i += 3) if (Math.abs(first.rgb[i] - orig.rgb[i]) > 60) changed++;
      assert.ok(changed > 50, `${changed} pixels changed by the drawing`);
      detector.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "predictVideoFile: everyN, tracking (fewer detections) and a failing frame that does not stop the rest",
  ignore: !HAVE_FFMPEG || !HAVE_YTF,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const video = await personY4m(dir);
      const detector = await createFaceDetector();
      const frames: number[] = [];
      const every = await predictVideoFile(video, detector, meanFacePredictor(), {
        everyN: 4,
        onFrame: (r) => frames.push(r.frame),
      });
      assert.deepEqual(frames, [0, 4, 8, 12, 16, 20, 24, 28, 32]);
      assert.equal(every.frames, 36);
      const tracked = await predictVideoFile(video, detector, meanFacePredictor(), {
        detectEvery: 6,
        smoothing: "one-euro",
      });
      assert.ok(tracked.detections >= 6 && tracked.detections < 36, `${tracked.detections} detections`);
      let calls = 0;
      const base = meanFacePredictor();
      const flaky: KeypointPredictor = {
        name: "flaky",
        predict: (images, n) => ++calls === 3 ? Promise.reject(new Error("boom")) : base.predict(images, n),
      };
      const results: VideoFrameResult[] = [];
      const s = await predictVideoFile(video, detector, flaky, { onFrame: (r) => results.push(r) });
      assert.equal(s.failed, 1);
      assert.equal(results.length, 36);
      assert.equal(results[2].error, "boom");
      assert.equal(results.filter((r) => r.faces.length === 1).length, 35);
      assert.match(frameJson(results[2]), /"error":"boom"/);
      await assert.rejects(
        () => predictVideoFile(video, detector, base, { smoothing: "kalman" }),
        (e: unknown) => e instanceof UsageError && /smoothing "kalman"/.test(e.message),
      );
      detector.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "openVideoWriter: Ctrl-C while a video is being written leaves no .tmp file behind",
  ignore: !HAVE_FFMPEG,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const video = new URL("../lib/video/ffmpeg_io.ts", import.meta.url).href;
      const script = join(dir, "writer.ts");
      await Deno.writeTextFile(
        script,
        `import { openVideoWriter } from "${video}";\n` +
          `const w = await openVideoWriter(${JSON.stringify(join(dir, "clip.mp4"))}, ` +
          `{ width: 64, height: 48, fps: 10 });\n` +
          `for (let i = 0; i < 80; i++) await w.write(new Uint8Array(64 * 48 * 3).fill(i * 3));\n` +
          `console.log("writing");\nawait new Promise(() => setInterval(() => {}, 1000));\n`,
      );
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--config", new URL("../deno.json", import.meta.url).pathname, script],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      while (!out.includes("writing")) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
      // FFmpeg creates its output once the encoder has started.
      const partial = () => [...Deno.readDirSync(dir)].some((e) => e.name.endsWith(".tmp"));
      for (let i = 0; i < 100 && !partial(); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(partial(), "a partial file while writing");
      child.kill("SIGINT");
      const status = await child.status;
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
      await child.stderr.cancel();
      assert.equal(status.code, 130);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["writer.ts"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
