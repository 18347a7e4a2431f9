/**
 * Keypoints on video: frames per second and keypoint jitter for detection on every frame vs tracking, and
 * for each smoothing filter.
 *
 * The test video: the 12 frames of one person in `../shared/data/ytf68/training/` (short clips of one video),
 * each held for 16 frames at 25 frames/s, 320×240, with camera-like noise (σ = 4 levels) on every frame;
 * every second segment also sways by up to ±3 px (whole pixels, ≤ 1 px per frame), so that a perfect
 * predictor's keypoints would stay put, or move exactly with the sway.
 * Jitter = mean distance between a keypoint's frame-to-frame movement and the true movement, in pixels,
 * within segments (cuts and the 4 frames after each excluded): on the still segments (pure jitter) and on the
 * swaying ones (jitter + lag).
 *
 * Model: `--model DIR` when run alone, else `outputs/models/default` if present, else the mean-face baseline
 * (which has no jitter of its own: its numbers only show the crop placement).
 *
 * `deno run -A bench/video_bench.ts [--model DIR]`
 *
 * @module
 */
import { join } from "node:path";
import { initBackend } from "../lib/backend_io.ts";
import { createFaceDetector } from "../lib/face/detect_io.ts";
import { loadKeypointModel } from "../lib/models/mod.ts";
import type { KeypointPredictor } from "../lib/models/types.ts";
import { Rng } from "../lib/core/rng.ts";
import { meanFacePredictor } from "../lib/face/track.ts";
import { ffmpegAvailable } from "../lib/video/ffmpeg_io.ts";
import { framesFromImages, writeY4m } from "../tests/_video_fixtures.ts";
import {
  predictVideoFile,
  type PredictVideoOptions,
  type VideoFrameResult,
} from "../lib/video/pipeline_io.ts";

const YTF = new URL("../../shared/data/ytf68/training/", import.meta.url).pathname;
const PERSON = "Ethan_Hawke";
const W = 320, H = 240, PAD = 4, HOLD = 16, FPS = 25;

/** Builds the jittery test video; returns its path and each frame's true shift and segment. */
async function buildVideo(
  dir: string,
): Promise<{ path: string; shifts: [number, number][]; segment: number[] }> {
  const files = [...Deno.readDirSync(YTF)].map((e) => e.name).filter((n) => n.startsWith(`${PERSON}_`))
    .sort();
  const big = await framesFromImages(files.map((f) => join(YTF, f)), {
    width: W + 2 * PAD,
    height: H + 2 * PAD,
  });
  const rng = new Rng(7);
  const frames: Uint8Array[] = [], shifts: [number, number][] = [], segment: number[] = [];
  big.forEach((src, s) => {
    for (let k = 0; k < HOLD; k++) {
      // A slow sway, at most about 2 px per frame, as a hand-held camera would give.
      const dx = Math.round(3 * Math.sin((2 * Math.PI * k) / HOLD)),
        dy = Math.round(2 * Math.sin((2 * Math.PI * k) / HOLD + 1));
      const out = new Uint8Array(W * H * 3);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const i = 3 * ((y + PAD + dy) * (W + 2 * PAD) + x + PAD + dx), o = 3 * (y * W + x);
          for (let c = 0; c < 3; c++) {
            out[o + c] = Math.max(0, Math.min(255, Math.round(src[i + c] + 4 * rng.normal())));
          }
        }
      }
      // Content moves opposite to the window.
      frames.push(out), shifts.push([-dx, -dy]), segment.push(s);
    }
  });
  const path = join(dir, "jitter.y4m");
  await writeY4m(path, frames, { width: W, height: H, fps: FPS });
  return { path, shifts, segment };
}

/**
 * Mean |keypoint movement − true movement| between consecutive frames of the same segment (first face), over
 * the still (`moving` false) or the swaying segments.
 */
function jitter(
  results: VideoFrameResult[],
  shifts: [number, number][],
  segment: number[],
  moving: boolean,
): number {
  let sum = 0, n = 0;
  for (let i = 1; i < results.length; i++) {
    const a = results[i - 1], b = results[i];
    if (segment[a.frame] !== segment[b.frame] || !a.faces[0] || !b.faces[0]) continue;
    // Skip each segment's first frames: after a cut a filter needs a few frames to catch up.
    if ((segment[a.frame] % 2 === 1) !== moving || a.frame % HOLD < 4) continue;
    const tx = shifts[b.frame][0] - shifts[a.frame][0], ty = shifts[b.frame][1] - shifts[a.frame][1];
    for (const [name, [x, y]] of Object.entries(b.faces[0].keypoints)) {
      const [px, py] = a.faces[0].keypoints[name as keyof typeof b.faces[0]["keypoints"]];
      sum += Math.hypot(x - px - tx, y - py - ty), n++;
    }
  }
  return sum / n;
}

/** Runs the benchmark and returns a markdown table. */
export async function run(modelDir?: string): Promise<string> {
  if (!(await ffmpegAvailable())) return "video bench skipped: FFmpeg not installed\n";
  if (!(await Deno.stat(YTF).then(() => true, () => false))) return "video bench skipped: no ytf68 data\n";
  const backend = await initBackend();
  const defaultDir = new URL("../outputs/models/default", import.meta.url).pathname;
  modelDir ??= await Deno.stat(join(defaultDir, "model.json")).then(() => defaultDir, () => undefined);
  const predictor: KeypointPredictor = modelDir ? await loadKeypointModel(modelDir) : meanFacePredictor();
  const detector = await createFaceDetector();
  const dir = await Deno.makeTempDir({ prefix: "fkd-video-bench-" });
  try {
    const { path, shifts, segment } = await buildVideo(dir);
    const configs: [string, PredictVideoOptions][] = [
      ["detect every frame", {}],
      ["detect every frame + ema 0.5", { smoothing: "ema:0.5" }],
      ["detect every frame + one-euro", { smoothing: "one-euro" }],
      ["track, detect every 5", { detectEvery: 5 }],
      ["track, detect every 5 + one-euro", { detectEvery: 5, smoothing: "one-euro" }],
      ["track, detect every 10 + one-euro", { detectEvery: 10, smoothing: "one-euro" }],
      ["every 2nd frame (everyN 2)", { everyN: 2 }],
      ["track, detect every 5 + ema 0.5", { detectEvery: 5, smoothing: "ema:0.5" }],
      ["detect every frame + annotated MP4", { out: join(dir, "out.mp4") }],
      ["track every 5 + one-euro + annotated MP4", {
        detectEvery: 5,
        smoothing: "one-euro",
        out: join(dir, "o2.mp4"),
      }],
    ];
    // Warm-up: first predictions compile kernels.
    await predictVideoFile(path, detector, predictor, { everyN: 24 });
    const rows = [];
    for (const [label, opts] of configs) {
      const results: VideoFrameResult[] = [];
      const s = await predictVideoFile(path, detector, predictor, {
        ...opts,
        onFrame: (r) => results.push(r),
      });
      const f = (v: number) => Number.isFinite(v) ? v.toFixed(2) : "–";
      const still = opts.everyN ? NaN : jitter(results, shifts, segment, false);
      const moving = opts.everyN ? NaN : jitter(results, shifts, segment, true);
      rows.push(
        `| ${label} | ${s.framesPerSecond.toFixed(1)} | ${(1000 / s.framesPerSecond).toFixed(1)} | ` +
          `${s.detections}/${s.processed} | ${f(still)} | ${f(moving)} |`,
      );
    }
    const frames = shifts.length;
    return `Video: ${frames} frames ${W}×${H} (ytf68 ${PERSON}, ±3 px sway + noise), model ` +
      `${
        modelDir ? `${predictor.name} (${modelDir})` : "mean-face baseline"
      }, backend ${backend.backend}\n\n` +
      "| pipeline | frames/s | ms/frame | detector runs | jitter still, px/frame | error moving, px/frame |\n" +
      "|---|---|---|---|---|---|\n" +
      rows.join("\n") + "\n";
  } finally {
    detector.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--model");
  console.log(await run(i >= 0 ? Deno.args[i + 1] : undefined));
}
