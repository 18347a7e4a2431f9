/**
 * Pictures written as PNG files with sharp: face grids ({@link saveFaceGrid}, drawn by `draw.ts`) and
 * photographs with faces drawn on them ({@link writeAnnotatedPng}, the SVG of `annotate.ts`). Writes are
 * atomic (a `.tmp` file beside the target, then a rename) and create the folder if needed.
 *
 * @module
 */
import sharp from "sharp";
import { Buffer } from "node:buffer";
import { UsageError } from "../core/errors.ts";
import { writeFileAtomic } from "../core/atomic_io.ts";
import { type AnnotatedFace, type AnnotateOptions, annotationSvg } from "./annotate.ts";
import { type RawImage } from "../core/image.ts";
import { type FaceGridOptions, faceGridRgb, type FaceToDraw } from "./draw.ts";

/**
 * Draws faces into a grid (see {@link faceGridRgb}) and writes it as an RGB PNG, atomically (a `.tmp`
 * file beside it, then a rename), creating the parent folder if needed.
 */
export async function saveFaceGrid(
  path: string,
  faces: readonly FaceToDraw[],
  opts: FaceGridOptions = {},
): Promise<{ path: string; width: number; height: number }> {
  const grid = faceGridRgb(faces, opts);
  const png = await sharp(grid.data, { raw: { width: grid.width, height: grid.height, channels: 3 } })
    .png()
    .toBuffer();
  await writeFileAtomic(path, png);
  return { path, width: grid.width, height: grid.height };
}

/**
 * Draws `faces` on `rgb` and writes a PNG to `path` atomically (`path.tmp`, then rename); creates the
 * folder if needed.
 *
 * @throws {UsageError} when the pixel buffer does not match the size.
 */
export async function writeAnnotatedPng(
  path: string,
  rgb: RawImage,
  faces: readonly AnnotatedFace[],
  opts: AnnotateOptions = {},
): Promise<void> {
  const { data, width, height } = rgb;
  if (data.length !== width * height * 3) {
    throw new UsageError(
      `an RGB image of ${width}×${height} needs ${width * height * 3} bytes, got ${data.length}`,
    );
  }
  const svg = annotationSvg(width, height, faces, opts);
  const png = await sharp(data, { raw: { width, height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .png()
    .toBuffer();
  await writeFileAtomic(path, png);
}
