/**
 * Test fixtures for video: YUV4MPEG2 files written without FFmpeg (Chromium's fake camera plays them) and
 * frames made from still images. Shared by the tests and `bench/video_bench.ts`.
 *
 * @module
 */
import sharp from "sharp";
import { writeFileAtomic } from "../lib/core/atomic_io.ts";
import { DataError, UsageError } from "../lib/core/errors.ts";

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
 * {@link writeY4m} or a `VideoWriter`.
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
