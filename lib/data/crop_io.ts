/**
 * {@link cropToFace}: a square box of a gray image to the 96×96 model input, shrinking with sharp (libvips)
 * where the box is larger than 96; the geometry and the other cases are in `crop.ts`.
 *
 * @module
 */
import sharp from "sharp";
import { IMAGE_SIZE } from "../core/constants.ts";
import { cutSquare, enlargeToFace } from "./crop.ts";
import { type CropBox } from "../core/box.ts";
import { type RawImage } from "../core/image.ts";

/**
 * Cuts `box` out of `gray` (black where the box leaves the image) and resizes it to 96×96, returning
 * `9216` floats in [0, 1].
 *
 * Shrinking (side > 96) uses sharp's linear (triangle, antialiasing) kernel, measured centre-aligned to
 * within 0.05 px. Enlarging (side < 96) is bilinear interpolation ({@link enlargeToFace}): sharp 0.35 /
 * libvips 8.18 shifts enlarged images by half an output pixel, which would break the mapping of `crop.ts`.
 *
 * @throws {UsageError} when the box is not whole pixels with a positive side, or the image's size is wrong.
 */
export async function cropToFace(gray: RawImage, box: CropBox): Promise<Float32Array> {
  if (box.size <= IMAGE_SIZE) return enlargeToFace(gray, box);
  const square = cutSquare(gray, box);
  const pixels = await sharp(square, { raw: { width: box.size, height: box.size, channels: 1 } })
    .resize(IMAGE_SIZE, IMAGE_SIZE, { kernel: "linear", fit: "fill" })
    .toColourspace("b-w")
    .raw()
    .toBuffer();
  const face = new Float32Array(IMAGE_SIZE * IMAGE_SIZE);
  for (let i = 0; i < face.length; i++) face[i] = pixels[i] / 255;
  return face;
}
