/**
 * The project's one place for reading and writing image files (through sharp / libvips).
 *
 * Readers accept any format and channel count sharp decodes (JPEG, PNG, WebP, TIFF, GIF, …; gray, gray +
 * alpha, RGB, RGBA, CMYK, 8 or 16 bit) and return 8-bit pixels, row-major. Alpha is flattened onto black.
 * EXIF orientation is applied (as OpenCV's `imread` does), so `width`/`height` are those of the upright
 * image. A file that is missing or fails to decode raises a {@link DataError} naming it.
 *
 * Writers are atomic: they write `<path>.<random>.tmp` beside the target, then rename it, creating parent
 * folders as needed.
 *
 * @example
 * ```ts
 * import { readGray, writeGrayPng } from "./image_io.ts";
 * const img = await readGray("../shared/data/portraits/astronaut.png");
 * await writeGrayPng("outputs/gray.png", img.data, img.width, img.height);
 * ```
 *
 * @module
 */
import sharp from "sharp";
import { DataError, UsageError } from "./errors.ts";
import { writeFileAtomic } from "./atomic_io.ts";
import type { RawImage } from "./image.ts";

/**
 * The largest image the readers decode, in pixels (200 megapixels: the biggest phone photos; their RGB
 * copy takes 600 MB). Larger files are refused with a `DataError` instead of exhausting memory.
 */
export const MAX_IMAGE_PIXELS = 200_000_000;

/** Options for the readers. */
export interface ReadImageOptions {
  /** Apply the EXIF orientation tag (default true, like OpenCV's `imread`). */
  autoOrient?: boolean;
}

/**
 * Reads an image file as 8-bit grayscale (libvips' luminance conversion), one byte per pixel.
 *
 * @example
 * ```ts
 * const { data, width, height } = await readGray("face.jpg"); // data.length === width * height
 * ```
 */
export async function readGray(path: string, opts: ReadImageOptions = {}): Promise<RawImage> {
  return await decode(path, 1, opts);
}

/** Reads an image file as 8-bit RGB, three interleaved bytes per pixel (gray inputs are expanded). */
export async function readRgb(path: string, opts: ReadImageOptions = {}): Promise<RawImage> {
  return await decode(path, 3, opts);
}

/**
 * Writes one-channel 8-bit pixels (`width × height` bytes) as a grayscale PNG, atomically.
 *
 * @example
 * ```ts
 * await writeGrayPng("outputs/ramp.png", new Uint8Array(256).map((_, i) => i), 16, 16);
 * ```
 */
export async function writeGrayPng(
  path: string,
  data: Uint8Array,
  width: number,
  height: number,
): Promise<void> {
  await encodePng(path, data, width, height, 1);
}

/** Writes interleaved 8-bit RGB pixels (`width × height × 3` bytes) as a PNG, atomically. */
export async function writeRgbPng(
  path: string,
  data: Uint8Array,
  width: number,
  height: number,
): Promise<void> {
  await encodePng(path, data, width, height, 3);
}

async function decode(path: string, channels: 1 | 3, opts: ReadImageOptions): Promise<RawImage> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new DataError("image file not found", { file: path });
    throw new DataError(`cannot read image file: ${(e as Error).message}`, { file: path });
  }
  try {
    // "b-w" and "srgb" are 8-bit colourspaces, so 16-bit inputs come out scaled to 0..255.
    const { data, info } = await sharp(bytes, {
      autoOrient: opts.autoOrient ?? true,
      limitInputPixels: MAX_IMAGE_PIXELS,
    })
      .flatten({ background: "#000000" })
      .toColourspace(channels === 1 ? "b-w" : "srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== channels || data.length !== info.width * info.height * channels) {
      throw new Error(`decoded to ${info.channels} channels, expected ${channels}`);
    }
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
    };
  } catch (e) {
    const message = (e as Error).message;
    if (/pixel limit/i.test(message)) {
      const size = await sharp(bytes, { limitInputPixels: false }).metadata().catch(() => undefined);
      const mp = size?.width && size.height
        ? `${size.width}×${size.height} = ${(size.width * size.height / 1e6).toFixed(0)} MP; `
        : "";
      throw new DataError(`image too large (${mp}at most ${MAX_IMAGE_PIXELS / 1e6} MP are read)`, {
        file: path,
      });
    }
    throw new DataError(`image failed to decode: ${explainDecodeError(message)}`, { file: path });
  }
}

/** libvips' decode message in one line, saying in plain words when the file was cut short. */
function explainDecodeError(message: string): string {
  const text = message.split("\n").map((l) => l.trim()).filter(Boolean).join("; ");
  const cut = /premature end|truncat|read error|Warning treated as error|unexpected end/i.test(text);
  return cut ? `the file is truncated or damaged (${text})` : text;
}

async function encodePng(
  path: string,
  data: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3,
): Promise<void> {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new UsageError(`${path}: image size ${width}×${height} is not a positive integer size`);
  }
  if (data.length !== width * height * channels) {
    throw new UsageError(
      `${path}: ${data.length} bytes for a ${width}×${height}×${channels} image (expected ${
        width * height * channels
      })`,
    );
  }
  // Without toColourspace("b-w"), sharp writes a one-channel input as 3-channel PNG.
  const png = await sharp(data, { raw: { width, height, channels } })
    .toColourspace(channels === 1 ? "b-w" : "srgb")
    .png()
    .toBuffer();
  await writeFileAtomic(path, new Uint8Array(png.buffer, png.byteOffset, png.length));
}
