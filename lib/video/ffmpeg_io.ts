/**
 * Video files through FFmpeg: probing a file, decoding its frames to raw RGB over a pipe, and encoding RGB
 * frames into a new file (H.264 in MP4 where FFmpeg has libx264), written atomically.
 *
 * FFmpeg is Debian's `ffmpeg` package (`apt-get install ffmpeg`, which brings `ffprobe`); set
 * `FKD_FFMPEG` / `FKD_FFPROBE` to use other binaries. Frame times assume a constant frame rate (the
 * stream's average rate): frame `n` is at `n / fps` seconds.
 *
 * @example
 * ```ts
 * import { openVideoWriter, probeVideo, readVideoFrames } from "./ffmpeg_io.ts";
 * const info = await probeVideo("clip.mp4");
 * const writer = await openVideoWriter("outputs/copy.mp4", info);
 * for await (const frame of readVideoFrames("clip.mp4", info)) await writer.write(frame.rgb);
 * await writer.close();
 * ```
 *
 * @module
 */

import { extname } from "node:path";
import { DataError, UsageError } from "../core/errors.ts";

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
 * sends these to `predictVideoFile` and everything else to `predictImageFile`.
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
function ffmpegPath(): string {
  return Deno.env.get("FKD_FFMPEG") || "ffmpeg";
}

/** The ffprobe binary: `$FKD_FFPROBE`, else `ffprobe` on the PATH. */
function ffprobePath(): string {
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
const VIDEO_ENCODERS = [
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
function pickVideoEncoder(): Promise<VideoEncoder> {
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
