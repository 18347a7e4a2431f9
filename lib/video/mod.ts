/**
 * Video files: FFmpeg in and out and the per-frame keypoint pipeline.
 *
 * @module
 */
export * from "./ffmpeg_io.ts";
export * from "./pipeline_io.ts";
