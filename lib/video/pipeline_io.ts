/**
 * Keypoints on video files: frames are decoded by FFmpeg into raw RGB over a pipe, faces found and their
 * keypoints predicted on every frame (or every n-th), optionally followed between detections
 * (`lib/face/track.ts`) and smoothed over time (`lib/face/smoothing.ts`), and an annotated copy written through a
 * second FFmpeg pipe with the same frame rate and size (H.264 in MP4 where FFmpeg has libx264).
 *
 * The FFmpeg side is `ffmpeg_io.ts`.
 *
 * @example
 * ```ts
 * import { createFaceDetector } from "../face/detect_io.ts";
 * import { DEFAULT_MODEL_DIR, loadKeypointModel } from "../models/mod.ts";
 * import { frameJson, predictVideoFile } from "./pipeline_io.ts";
 *
 * const model = await loadKeypointModel(DEFAULT_MODEL_DIR);
 * const summary = await predictVideoFile("clip.mp4", await createFaceDetector(), model, {
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
import { type AnnotateOptions, annotationSvg } from "../viz/annotate.ts";
import { DEFAULT_CROP_MARGIN } from "../data/crop.ts";
import { cropToFace } from "../data/crop_io.ts";
import type { FaceDetector } from "../face/detect.ts";
import type { RawImage } from "../core/image.ts";
import { UsageError } from "../core/errors.ts";
import type { KeypointPredictor } from "../models/types.ts";
import { parseSmoothing, type SmoothingSpec } from "../face/smoothing.ts";
import { FaceTracker, type TrackedFace } from "../face/track.ts";
import { faceJson } from "../face/types.ts";
import { progressBar } from "../train/progress_io.ts";
import { openVideoWriter, probeVideo, readVideoFrames } from "./ffmpeg_io.ts";

/** RGB to 8-bit gray with sharp (libvips' "b-w"), exactly as `readGray` converts image files. */
async function rgbToGray(rgb: Uint8Array, width: number, height: number): Promise<RawImage> {
  const out = await sharp(rgb, { raw: { width, height, channels: 3 } }).toColourspace("b-w").raw().toBuffer();
  return { data: new Uint8Array(out.buffer, out.byteOffset, out.length), width, height };
}

/** Draws faces on an RGB frame (the same SVG overlay as `writeAnnotatedPng`) and returns the RGB bytes. */
async function annotateFrame(
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
  const smoothing = typeof opts.smoothing === "string" ? parseSmoothing(opts.smoothing) : opts.smoothing;
  const margin = opts.margin ?? DEFAULT_CROP_MARGIN;
  const tracker = new FaceTracker<RawImage>({
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

/** A per-frame progress callback; `done = −1` ends the bar. */
function progressReporter(
  progress: PredictVideoOptions["progress"],
  file: string,
): (done: number, total: number, fps: number) => void {
  if (typeof progress === "function") return (d, t, f) => d >= 0 && progress(d, t, f);
  if (!progress) return () => {};
  const bar = progressBar(file, "frames");
  return (done, total) => done < 0 ? bar.finish() : bar.update(done, total);
}

/**
 * One processed frame as a JSON line: `{"file", "frame", "time", "faces": [{"box", "keypoints", "track",
 * "detected"}]}`, coordinates rounded to 0.01 px (same form as for photos, plus the track fields);
 * `"error"` for a frame that failed.
 */
export function frameJson(result: VideoFrameResult): string {
  return JSON.stringify({
    file: result.file,
    frame: result.frame,
    time: Math.round(result.time * 1e6) / 1e6,
    faces: result.faces.map(faceJson),
    ...(result.error ? { error: result.error } : {}),
  });
}
