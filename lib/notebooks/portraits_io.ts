/**
 * The portrait figures of the thesis for a folder of photos: each portrait as it is, with the Haar boxes
 * the detector found, and with boxes and the 15 keypoints of each model.
 *
 * @example
 * ```ts
 * import { createFaceDetector } from "../face/detect_io.ts";
 * import { loadKeypointModel } from "../models/folder_io.ts";
 * const detector = await createFaceDetector();
 * const models = [await loadKeypointModel("outputs/models/lenet")];
 * const shown = await portraitFigures(listPortraits("data/portraits"), detector, models, "outputs/figures/05");
 * shown[0].files; // [".../05_portrait_astronaut.png", "..._haar_boxes.png", "..._keypoints_lenet.png"]
 * ```
 *
 * @module
 */
import { basename, join } from "node:path";
import { writeAnnotatedPng } from "../viz/png_io.ts";
import type { FaceDetector } from "../face/detect.ts";
import { UsageError } from "../core/errors.ts";
import { readGray, readRgb } from "../core/image_io.ts";
import type { KeypointPredictor } from "../models/types.ts";
import { annotationsFor, predictFaces } from "../face/predict_io.ts";

/** Image files a portrait folder may hold. */
const PHOTO = /\.(png|jpe?g|webp|tiff?)$/i;

/** The photos in a folder, sorted by name, as paths; throws `UsageError` where there is none. */
export function listPortraits(dir: string): string[] {
  let names: string[];
  try {
    names = [...Deno.readDirSync(dir)].filter((e) => e.isFile && PHOTO.test(e.name)).map((e) => e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UsageError(`no such portrait folder: ${dir}`);
    throw e;
  }
  if (names.length === 0) throw new UsageError(`no photos (png, jpg, webp, tiff) in ${dir}`);
  return names.sort().map((n) => join(dir, n));
}

/** The figures made for one portrait. */
export interface PortraitFigures {
  /** The photo as given. */
  file: string;
  /** Faces the detector found. */
  faces: number;
  /** The portrait, the portrait with the Haar boxes, then one with boxes and keypoints per model. */
  files: string[];
}

/**
 * For each portrait writes `<prefix>_portrait_<stem>.png` (the photo), `…_haar_boxes.png` (the detector's
 * boxes) and `…_keypoints_<model>.png` per model (boxes and keypoints); detection runs once per photo.
 */
export async function portraitFigures(
  files: readonly string[],
  detector: FaceDetector,
  models: readonly KeypointPredictor[],
  prefix: string,
): Promise<PortraitFigures[]> {
  const out: PortraitFigures[] = [];
  for (const file of files) {
    const stem = basename(file).replace(/\.\w+$/, "");
    const [gray, rgb] = [await readGray(file), await readRgb(file)];
    const boxes = detector.detect(gray);
    const base = `${prefix}_portrait_${stem}`;
    const written = [`${base}.png`, `${base}_haar_boxes.png`];
    await writeAnnotatedPng(written[0], rgb, []);
    await writeAnnotatedPng(
      written[1],
      rgb,
      boxes.map((b, i) => ({
        box: [b.x, b.y, b.width, b.height] as const,
        label: boxes.length > 1 ? `face ${i + 1}` : undefined,
      })),
    );
    for (const model of models) {
      const faces = await predictFaces(gray, boxes, model);
      const path = `${base}_keypoints_${model.name}.png`;
      await writeAnnotatedPng(
        path,
        rgb,
        annotationsFor({ file, width: gray.width, height: gray.height, faces }),
      );
      written.push(path);
    }
    out.push({ file, faces: boxes.length, files: written });
  }
  return out;
}
