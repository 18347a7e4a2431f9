/**
 * Keypoints on video files: frames are decoded by FFmpeg into raw RGB over a pipe, faces found and their
 * keypoints predicted on every frame (or every n-th), optionally followed between detections
 * (`lib/track.ts`) and smoothed over time (`lib/smoothing.ts`), and an annotated copy written through a
 * second FFmpeg pipe with the same frame rate and size (H.264 in MP4 where FFmpeg has libx264).
 *
 * FFmpeg is Debian's `ffmpeg` package (`apt-get install ffmpeg`, which brings `ffprobe`); set
 * `FKD_FFMPEG` / `FKD_FFPROBE` to use other binaries. Frame times assume a constant frame rate (the
 * stream's average rate): frame `n` is at `n / fps` seconds.
 *
 * @example
 * ```ts
 * import { createFaceDetector } from "./detect.ts";
 * import { loadKeypointModel } from "./models/mod.ts";
 * import { predictVideoFile } from "./video.ts";
 *
 * const summary = await predictVideoFile("clip.mp4", await createFaceDetector(), await loadKeypointModel(dir), {
 *   out: "outputs/predictions/clip.mp4",
 *   detectEvery: 10,
 *   smoothing: "one-euro",
 *   onFrame: (r) => console.log(frameJson(r)),
 * });
 * summary.framesPerSecond;
 * ```
 *
 * @module
 */

import sharp from "sharp";
import { Buffer } from "node:buffer";
import { extname } from "node:path";
import { type AnnotateOptions, annotationSvg } from "./annotate.ts";
import { cropToFace, DEFAULT_CROP_MARGIN } from "./data/crop.ts";
import type { FaceDetector, GrayImage } from "./detect.ts";
import { DataError, UsageError } from "./errors.ts";
import type { KeypointPredictor } from "./models/types.ts";
import { parseSmoothing, type SmoothingSpec } from "./smoothing.ts";
import { FaceTracker, type TrackedFace } from "./track.ts";
import { writeFileAtomic } from "./atomic.ts";

/** File extensions treated as video (case-insensitive). */
export const VIDEO_EXTENSIONS = [
  ".mp4",
  ".m4v",
  ".mov",
  ".webm",
  ".mkv",
  ".avi",
  ".y4m",
  ".mpg",
  ".mpeg",
  ".ogv",
] as const;

/**
 * True for a path whose extension is a video format ({@link VIDEO_EXTENSIONS}); `deno task predict`
 * sends these to {@link predictVideoFile} and everything else to `predictImageFile`.
 *
 * @example
 * ```ts
 * isVideoFile("clip.MP4"); // true
 * isVideoFile("face.png"); // false
 * ```
 */
export function isVideoFile(path: string): boolean {
  return (VIDEO_EXTENSIONS as readonly string[]).includes(extname(path).toLowerCase());
}

/** The FFmpeg binary: `$FKD_FFMPEG`, else `ffmpeg` on the PATH. */
export function ffmpegPath(): string {
  return Deno.env.get("FKD_FFMPEG") || "ffmpeg";
}

/** The ffprobe binary: `$FKD_FFPROBE`, else `ffprobe` on the PATH. */
export function ffprobePath(): string {
  return Deno.env.get("FKD_FFPROBE") || "ffprobe";
}

const INSTALL_HINT = "install FFmpeg (Debian: apt-get install ffmpeg) or set FKD_FFMPEG / FKD_FFPROBE";

/** True when both FFmpeg and ffprobe run. */
export async function ffmpegAvailable(): Promise<boolean> {
  try {
    for (const bin of [ffmpegPath(), ffprobePath()]) {
      const { success } = await new Deno.Command(bin, { args: ["-version"], stdout: "null", stderr: "null" })
        .output();
      if (!success) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** What {@link probeVideo} finds out about a file's first video stream. */
export interface VideoInfo {
  /** Frame size as decoded (after the rotation in the file's metadata, as players show it). */
  width: number;
  height: number;
  /** Average frame rate, frames per second. */
  fps: number;
  /** The same as FFmpeg's exact fraction, e.g. `"30000/1001"`. */
  fpsText: string;
  /** Frame count where the container states it, else an estimate from the duration; NaN if unknown. */
  frames: number;
  /** Duration in seconds (NaN if unknown). */
  duration: number;
  /** Codec name, e.g. `"h264"`. */
  codec: string;
}

/** Runs a command to completion; a missing binary becomes a clear error. */
async function run(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(bin, { args, stdout: "piped", stderr: "piped", stdin: "null" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${bin} not found: ${INSTALL_HINT}`);
    throw e;
  }
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The last non-empty line of FFmpeg's error output, for error messages. */
function lastLine(text: string): string {
  return text.trim().split("\n").filter((l) => l.trim()).at(-1)?.trim() ?? "no message";
}

/**
 * Reads a video's size, frame rate and length with ffprobe.
 *
 * @throws {DataError} naming the file when it is missing, is not a video, or has no video stream.
 */
export async function probeVideo(path: string): Promise<VideoInfo> {
  try {
    if (!(await Deno.stat(path)).isFile) throw new DataError("not a file", { file: path });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new DataError("video file not found", { file: path });
    throw e;
  }
  const { code, stdout, stderr } = await run(ffprobePath(), [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=width,height,avg_frame_rate,r_frame_rate,nb_frames,duration,codec_name:stream_side_data=rotation" +
    ":format=duration",
    "-of",
    "json",
    path,
  ]);
  if (code !== 0) throw new DataError(`cannot decode video: ${lastLine(stderr)}`, { file: path });
  // deno-lint-ignore no-explicit-any
  let info: any;
  try {
    info = JSON.parse(stdout);
  } catch {
    throw new DataError("cannot decode video: ffprobe gave no stream information", { file: path });
  }
  const s = info.streams?.[0];
  if (!s || !(s.width > 0) || !(s.height > 0)) {
    throw new DataError("cannot decode video: no video stream found", { file: path });
  }
  const rate = (text: string | undefined) => {
    const [a, b = "1"] = (text ?? "").split("/");
    const v = Number(a) / Number(b);
    return Number.isFinite(v) && v > 0 ? v : NaN;
  };
  let fpsText = s.avg_frame_rate as string;
  let fps = rate(fpsText);
  if (!Number.isFinite(fps)) fpsText = s.r_frame_rate, fps = rate(fpsText);
  if (!Number.isFinite(fps)) fpsText = "25", fps = 25; // e.g. a single still: any rate will do
  const duration = Number(s.duration ?? info.format?.duration);
  const stated = Number(s.nb_frames);
  const frames = stated > 0 ? stated : Number.isFinite(duration) ? Math.round(duration * fps) : NaN;
  const rotation = Math.abs(
    Number(s.side_data_list?.find((d: { rotation?: number }) => "rotation" in d)?.rotation),
  );
  const swap = rotation === 90 || rotation === 270;
  return {
    width: swap ? s.height : s.width,
    height: swap ? s.width : s.height,
    fps,
    fpsText,
    frames,
    duration: Number.isFinite(duration) ? duration : NaN,
    codec: s.codec_name ?? "unknown",
  };
}

/** One decoded frame. */
export interface VideoFrame {
  /** 0-based frame number. */
  index: number;
  /** Seconds from the start (`index / fps`). */
  time: number;
  /** `width × height × 3` bytes, RGB, row-major. */
  rgb: Uint8Array;
  width: number;
  height: number;
}

/**
 * Decodes a video's frames in order as raw RGB (FFmpeg over a pipe; at most a few frames are held in
 * memory). Breaking out of the loop stops FFmpeg.
 *
 * @throws {DataError} naming the file when it cannot be decoded (before any frame, or with the number of
 * frames read when decoding breaks off).
 */
export async function* readVideoFrames(path: string, info?: VideoInfo): AsyncGenerator<VideoFrame> {
  info ??= await probeVideo(path);
  const { width, height, fps } = info;
  const frameBytes = width * height * 3;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(ffmpegPath(), {
      args: [
        ..."-hide_banner -nostdin -v error -i".split(" "),
        path,
        ..."-map 0:v:0 -fps_mode passthrough -f rawvideo -pix_fmt rgb24 -".split(" "),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${ffmpegPath()} not found: ${INSTALL_HINT}`);
    throw e;
  }
  const stderrText = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  let index = 0;
  let finished = false;
  try {
    let buf = new Uint8Array(frameBytes), filled = 0;
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      let offset = 0;
      while (offset < value.length) {
        const n = Math.min(frameBytes - filled, value.length - offset);
        buf.set(value.subarray(offset, offset + n), filled);
        filled += n, offset += n;
        if (filled === frameBytes) {
          yield { index, time: index / fps, rgb: buf, width, height };
          index++;
          buf = new Uint8Array(frameBytes), filled = 0;
        }
      }
    }
    finished = true;
    const status = await child.status;
    if (!status.success || index === 0) {
      const msg = lastLine(await stderrText);
      throw new DataError(
        index === 0 ? `cannot decode video: ${msg}` : `decoding stopped after ${index} frames: ${msg}`,
        { file: path },
      );
    }
  } finally {
    if (!finished) {
      // The consumer stopped early (or failed): stop FFmpeg and reap it.
      await reader.cancel().catch(() => {});
      try {
        child.kill("SIGTERM");
      } catch {
        // already exited
      }
      await child.status;
      await stderrText.catch(() => {});
    }
  }
}

/** Codec choices for {@link openVideoWriter}, in order of preference. */
export const VIDEO_ENCODERS = [
  {
    encoder: "libx264",
    format: "mp4",
    ext: ".mp4",
    args: ["-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"],
  },
  {
    encoder: "libvpx-vp9",
    format: "webm",
    ext: ".webm",
    args: ["-b:v", "0", "-crf", "32", "-pix_fmt", "yuv420p"],
  },
  { encoder: "mpeg4", format: "mp4", ext: ".mp4", args: ["-q:v", "3", "-pix_fmt", "yuv420p"] },
] as const;

/** One of {@link VIDEO_ENCODERS}. */
export type VideoEncoder = typeof VIDEO_ENCODERS[number];

let encoderChoice: Promise<VideoEncoder> | undefined;

/** The first of {@link VIDEO_ENCODERS} that this FFmpeg has (asked once per process). */
export function pickVideoEncoder(): Promise<VideoEncoder> {
  encoderChoice ??= (async () => {
    const { code, stdout } = await run(ffmpegPath(), ["-hide_banner", "-encoders"]);
    if (code !== 0) throw new Error(`${ffmpegPath()} -encoders failed: ${INSTALL_HINT}`);
    const found = VIDEO_ENCODERS.find((e) => new RegExp(`^\\s*V\\S*\\s+${e.encoder}\\s`, "m").test(stdout));
    if (!found) {
      throw new Error(`FFmpeg has none of the encoders ${VIDEO_ENCODERS.map((e) => e.encoder).join(", ")}`);
    }
    return found;
  })();
  return encoderChoice;
}

/** Writes raw RGB frames into a video file. Create with {@link openVideoWriter}. */
export interface VideoWriter {
  /** The file that {@link VideoWriter.close} creates (extension per the encoder). */
  readonly path: string;
  readonly encoder: VideoEncoder;
  /** Appends a frame of `width × height × 3` RGB bytes. */
  write(rgb: Uint8Array): Promise<void>;
  /** Finishes the file and moves it into place (atomically). */
  close(): Promise<void>;
  /** Stops and removes the partial file. */
  abort(): Promise<void>;
}

/**
 * Writers not yet closed, aborted on Ctrl-C (or SIGTERM) so that no `.tmp` file is left behind: a signal
 * would otherwise end the process before any `finally` runs.
 */
const openWriters = new Set<() => Promise<void>>();
const STOP_SIGNALS: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];

async function abortOpenWritersAndExit(): Promise<void> {
  await Promise.all([...openWriters].map((abort) => abort()));
  Deno.exit(130);
}

function trackWriter(abort: () => Promise<void>): void {
  if (openWriters.size === 0) {
    for (const s of STOP_SIGNALS) Deno.addSignalListener(s, abortOpenWritersAndExit);
  }
  openWriters.add(abort);
}

function untrackWriter(abort: () => Promise<void>): void {
  if (!openWriters.delete(abort) || openWriters.size > 0) return;
  for (const s of STOP_SIGNALS) Deno.removeSignalListener(s, abortOpenWritersAndExit);
}

/**
 * Opens an FFmpeg encoder for frames of `width × height` at `fps` (a number or FFmpeg's fraction text).
 * The file is written beside `path` under a temporary name and renamed by `close()`. Its extension is
 * replaced by the encoder's (`.mp4` for H.264, `.webm` for VP9). Odd sizes are padded by one black pixel
 * row/column, which 4:2:0 video needs.
 */
export async function openVideoWriter(
  path: string,
  opts: { width: number; height: number; fps: number | string },
): Promise<VideoWriter> {
  const { width, height, fps } = opts;
  const encoder = await pickVideoEncoder();
  const target = path.slice(0, path.length - extname(path).length) + encoder.ext;
  const slash = target.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(target.slice(0, slash), { recursive: true });
  const tmp = `${target}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const pad = width % 2 || height % 2 ? ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"] : [];
  const child = new Deno.Command(ffmpegPath(), {
    args: [
      ..."-hide_banner -v error -y -f rawvideo -pix_fmt rgb24".split(" "),
      ...["-s", `${width}x${height}`, "-framerate", String(fps), "-i", "-"],
      ...pad,
      ...["-c:v", encoder.encoder, ...encoder.args],
      ...(encoder.format === "mp4" ? ["-movflags", "+faststart"] : []),
      ...["-f", encoder.format, tmp],
    ],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderrText = new Response(child.stderr).text();
  const stdin = child.stdin.getWriter();
  const frameBytes = width * height * 3;
  let closed = false;
  const fail = async (what: string) => {
    const msg = lastLine(await stderrText);
    await Deno.remove(tmp).catch(() => {});
    return new Error(`${target}: FFmpeg (${encoder.encoder}) ${what}: ${msg}`);
  };
  const writer: VideoWriter = {
    path: target,
    encoder,
    async write(rgb) {
      if (rgb.length !== frameBytes) {
        throw new UsageError(`a ${width}×${height} frame needs ${frameBytes} RGB bytes, got ${rgb.length}`);
      }
      try {
        await stdin.write(rgb);
      } catch {
        await child.status;
        throw await fail("stopped");
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      untrackWriter(writer.abort);
      await stdin.close().catch(() => {});
      if (!(await child.status).success) throw await fail("failed");
      await stderrText;
      await Deno.rename(tmp, target);
    },
    async abort() {
      if (closed) return;
      closed = true;
      untrackWriter(writer.abort);
      await stdin.abort().catch(() => {});
      try {
        child.kill("SIGTERM");
      } catch {
        // already exited
      }
      await child.status;
      await stderrText.catch(() => {});
      await Deno.remove(tmp).catch(() => {});
    },
  };
  trackWriter(writer.abort);
  return writer;
}

/** RGB to 8-bit gray with sharp (libvips' "b-w"), exactly as `readGray` converts image files. */
export async function rgbToGray(rgb: Uint8Array, width: number, height: number): Promise<GrayImage> {
  const out = await sharp(rgb, { raw: { width, height, channels: 3 } }).toColourspace("b-w").raw().toBuffer();
  return { data: new Uint8Array(out.buffer, out.byteOffset, out.length), width, height };
}

/** Draws faces on an RGB frame (the same SVG overlay as `writeAnnotatedPng`) and returns the RGB bytes. */
export async function annotateFrame(
  rgb: Uint8Array,
  width: number,
  height: number,
  faces: readonly TrackedFace[],
  opts: AnnotateOptions = {},
): Promise<Uint8Array> {
  if (faces.length === 0) return rgb;
  const svg = annotationSvg(width, height, faces, opts);
  const out = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** One processed frame, as `--json` prints it. */
export interface VideoFrameResult {
  file: string;
  /** 0-based frame number. */
  frame: number;
  /** Seconds from the start. */
  time: number;
  /** Faces as for photos (`box`, `keypoints` in frame pixels) plus `track` and `detected`. */
  faces: TrackedFace[];
  /** Set when this frame failed (the rest of the video is still processed). */
  error?: string;
}

/** Options of {@link predictVideoFile}. */
export interface PredictVideoOptions {
  /** Annotated video to write (extension per encoder, see {@link openVideoWriter}); none if unset. */
  out?: string;
  /** Process every n-th frame only (1 = all); the annotated video shows the last result in between. */
  everyN?: number;
  /** Run the face detector every k processed frames and follow faces in between (1 = always detect). */
  detectEvery?: number;
  /** Keypoint smoothing: a spec or its text (`none`, `ema[:A]`, `one-euro[:MINCUTOFF,BETA[,DCUTOFF]]`). */
  smoothing?: SmoothingSpec | string;
  /** Crop margin, as in training (default 0.25). */
  margin?: number;
  /** Called for every processed frame, in order (e.g. to print JSON lines). */
  onFrame?: (result: VideoFrameResult) => void;
  /** Progress bar on stderr: true (on a terminal only), false, or a function called per frame. */
  progress?: boolean | ((done: number, total: number, framesPerSecond: number) => void);
  /** Drawing options for the annotated video. */
  annotate?: AnnotateOptions;
}

/** What {@link predictVideoFile} returns. */
export interface VideoSummary {
  file: string;
  width: number;
  height: number;
  /** The video's frame rate. */
  fps: number;
  /** Frames decoded, and how many of them were processed (every n-th), failed, or ran the detector. */
  frames: number;
  processed: number;
  failed: number;
  detections: number;
  /** Wall-clock seconds from the first frame to the closed output, and decoded frames per second. */
  seconds: number;
  framesPerSecond: number;
  /** The annotated video written, if any. */
  output?: string;
  /** The encoder used for it, e.g. `"libx264"`. */
  encoder?: string;
}

/**
 * Finds faces and their keypoints on a video's frames; optionally writes an annotated copy (same size and
 * frame rate) and reports each processed frame through `onFrame`. A frame that fails is reported with
 * `error` and does not stop the others.
 *
 * @throws {DataError} naming the file when it cannot be decoded.
 */
export async function predictVideoFile(
  path: string,
  detector: FaceDetector,
  predictor: KeypointPredictor,
  opts: PredictVideoOptions = {},
): Promise<VideoSummary> {
  const everyN = opts.everyN ?? 1;
  if (!Number.isInteger(everyN) || everyN < 1) {
    throw new UsageError(`everyN must be an integer ≥ 1, got ${everyN}`);
  }
  const smoothing = typeof opts.smoothing === "string"
    ? parseSmoothingOption(opts.smoothing)
    : opts.smoothing;
  const margin = opts.margin ?? DEFAULT_CROP_MARGIN;
  const tracker = new FaceTracker<GrayImage>({
    detect: (gray) => detector.detect(gray),
    crop: (gray, box) => cropToFace(gray, box),
    predictor,
  }, { detectEvery: opts.detectEvery ?? 1, smoothing, margin });

  const info = await probeVideo(path);
  const writer = opts.out ? await openVideoWriter(opts.out, info) : undefined;
  const report = progressReporter(opts.progress, path);
  const start = performance.now();
  let frames = 0, processed = 0, failed = 0, detections = 0;
  let last: TrackedFace[] = [];
  try {
    for await (const frame of readVideoFrames(path, info)) {
      frames++;
      if (frame.index % everyN === 0) {
        processed++;
        const result: VideoFrameResult = { file: path, frame: frame.index, time: frame.time, faces: [] };
        try {
          const gray = await rgbToGray(frame.rgb, frame.width, frame.height);
          const tracked = await tracker.process(gray, frame.time, frame.width, frame.height);
          result.faces = tracked.faces;
          if (tracked.detected) detections++;
        } catch (e) {
          failed++;
          result.error = e instanceof Error ? e.message : String(e);
          tracker.reset();
        }
        last = result.faces;
        opts.onFrame?.(result);
      }
      if (writer) {
        await writer.write(await annotateFrame(frame.rgb, frame.width, frame.height, last, opts.annotate));
      }
      report(frames, info.frames, frames / ((performance.now() - start) / 1000));
    }
    await writer?.close();
  } catch (e) {
    await writer?.abort();
    throw e;
  } finally {
    report(-1, info.frames, 0);
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    file: path,
    width: info.width,
    height: info.height,
    fps: info.fps,
    frames,
    processed,
    failed,
    detections,
    seconds,
    framesPerSecond: frames / seconds,
    output: writer?.path,
    encoder: writer?.encoder.encoder,
  };
}

function parseSmoothingOption(text: string): SmoothingSpec {
  try {
    return parseSmoothing(text);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A per-frame progress callback; `done = −1` ends the bar. */
function progressReporter(
  progress: PredictVideoOptions["progress"],
  file: string,
): (done: number, total: number, fps: number) => void {
  if (typeof progress === "function") return (d, t, f) => d >= 0 && progress(d, t, f);
  if (!progress || !Deno.stderr.isTerminal()) return () => {};
  const enc = new TextEncoder();
  let lastDraw = 0, drawn = false;
  return (done, total, fps) => {
    if (done < 0) {
      if (drawn) Deno.stderr.writeSync(enc.encode("\r\x1b[2K"));
      return;
    }
    const now = performance.now();
    if (now - lastDraw < 100) return;
    lastDraw = now, drawn = true;
    const known = Number.isFinite(total) && total > 0;
    const width = 24, filled = known ? Math.min(width, Math.round((done / total) * width)) : 0;
    const left = known && fps > 0 ? ` left ${Math.max(0, Math.round((total - done) / fps))}s` : "";
    Deno.stderr.writeSync(enc.encode(
      `\r\x1b[2K${file} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${
        known ? total : "?"
      } ` +
        `frames  ${fps.toFixed(1)} frames/s${left}`,
    ));
  };
}

/**
 * One processed frame as a JSON line: `{"file", "frame", "time", "faces": [{"box", "keypoints", "track",
 * "detected"}]}`, coordinates rounded to 0.01 px (same form as for photos, plus the track fields);
 * `"error"` for a frame that failed.
 */
export function frameJson(result: VideoFrameResult): string {
  const r2 = (v: number) => Math.round(v * 100) / 100;
  return JSON.stringify({
    file: result.file,
    frame: result.frame,
    time: Math.round(result.time * 1e6) / 1e6,
    faces: result.faces.map((f) => ({
      box: f.box.map(r2),
      keypoints: Object.fromEntries(Object.entries(f.keypoints).map(([k, [x, y]]) => [k, [r2(x), r2(y)]])),
      track: f.track,
      detected: f.detected,
    })),
    ...(result.error ? { error: result.error } : {}),
  });
}

/**
 * Writes RGB frames as an uncompressed YUV4MPEG2 (`.y4m`) file, 4:2:0, BT.601 limited range: the format
 * Chromium's fake camera (`--use-file-for-fake-video-capture`) plays, and FFmpeg reads. Pure TypeScript,
 * no FFmpeg needed. Written atomically.
 *
 * @param fps frames per second (integer or fraction text like `"30000/1001"`).
 */
export async function writeY4m(
  path: string,
  frames: Iterable<Uint8Array>,
  opts: { width: number; height: number; fps: number | string },
): Promise<void> {
  const { width, height } = opts;
  if (width % 2 || height % 2) throw new UsageError(`Y4M 4:2:0 needs an even size, got ${width}×${height}`);
  const [num, den = "1"] = String(opts.fps).split("/");
  const header = new TextEncoder().encode(`YUV4MPEG2 W${width} H${height} F${num}:${den} Ip A1:1 C420jpeg\n`);
  const frameTag = new TextEncoder().encode("FRAME\n");
  const chunks: Uint8Array[] = [header];
  const cw = width / 2, ch = height / 2;
  for (const rgb of frames) {
    if (rgb.length !== width * height * 3) {
      throw new UsageError(
        `a ${width}×${height} frame needs ${width * height * 3} RGB bytes, got ${rgb.length}`,
      );
    }
    const yuv = new Uint8Array(width * height + 2 * cw * ch);
    for (let i = 0; i < width * height; i++) {
      const r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
      yuv[i] = Math.round(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255);
    }
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        let r = 0, g = 0, b = 0;
        for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
          const i = 3 * ((2 * y + dy) * width + 2 * x + dx);
          r += rgb[i], g += rgb[i + 1], b += rgb[i + 2];
        }
        r /= 4, g /= 4, b /= 4;
        yuv[width * height + y * cw + x] = Math.round(128 + (-37.797 * r - 74.203 * g + 112 * b) / 255);
        yuv[width * height + cw * ch + y * cw + x] = Math.round(
          128 + (112 * r - 93.786 * g - 18.214 * b) / 255,
        );
      }
    }
    chunks.push(frameTag, yuv);
  }
  const total = chunks.reduce((s, c) => s + c.length, 0);
  const bytes = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) bytes.set(c, o), o += c.length;
  await writeFileAtomic(path, bytes);
}

/**
 * Frames from still images (e.g. the frames of one person in `ytf68/training`), each resized to fit
 * `width × height` (aspect kept, black borders) and repeated `repeat` times: the raw RGB frames for
 * {@link writeY4m} or a {@link VideoWriter}.
 *
 * @throws {DataError} naming an image that does not decode.
 */
export async function framesFromImages(
  paths: readonly string[],
  opts: { width: number; height: number; repeat?: number },
): Promise<Uint8Array[]> {
  const frames: Uint8Array[] = [];
  for (const p of paths) {
    let rgb: Uint8Array;
    try {
      const out = await sharp(p)
        .resize(opts.width, opts.height, { fit: "contain", background: "#000000" })
        .removeAlpha()
        .toColourspace("srgb")
        .raw()
        .toBuffer();
      rgb = new Uint8Array(out.buffer, out.byteOffset, out.length);
    } catch (e) {
      throw new DataError(`image failed to decode: ${(e as Error).message}`, { file: p });
    }
    for (let k = 0; k < (opts.repeat ?? 1); k++) frames.push(rgb);
  }
  return frames;
}
