/**
 * Keypoints on photographs: find each face, cut a square around it framed like the training crops, resize
 * it to 96×96, predict the 15 keypoints and map them back into the photo's pixels.
 *
 * Framing: the training crops (`readLandmarks68Folder`, `squareBoxAround`) are squares centred on the 68
 * landmarks' bounding box with side `extent · (1 + 2 · margin)`, `extent` the box's larger side. A Haar box
 * is not a landmark box, so {@link cropBoxForDetection} first estimates the landmark box from it, with
 * ratios measured on all 3129 training frames of `../shared/data/ytf68` (3077 detected; median, quartiles
 * in brackets): landmark extent = 0.877 [0.830, 0.934] × Haar width, landmark centre 0.165 [0.143, 0.188] ×
 * width below the Haar box's centre and 0.009 [−0.056, 0.080] × width to the right (taken as 0). Then the
 * same `margin` as in training is added, so with the default 0.25 the crop side is 1.32 × the Haar width.
 *
 * @example
 * ```ts
 * import { createFaceDetector } from "./detect_io.ts";
 * import { DEFAULT_MODEL_DIR, loadKeypointModel } from "../models/mod.ts";
 * import { predictImageFile } from "./predict_io.ts";
 *
 * const model = await loadKeypointModel(DEFAULT_MODEL_DIR);
 * const result = await predictImageFile("photo.jpg", await createFaceDetector(), model);
 * result.faces[0].keypoints.nose_tip; // [x, y] in photo pixels
 * ```
 *
 * @module
 */

import { IMAGE_SIZE, KEYPOINT_NAMES, type KeypointName, NUM_COORDS } from "../core/constants.ts";
import { cropBoxForDetection, fromCropCoords } from "../data/crop.ts";
import {
  cropBoxFromKeypoints,
  flipPairMean,
  keypointsInsideCrop,
  medianOf,
  plausibleRefinement,
} from "./framing.ts";
import { flipImages } from "../core/flip.ts";
import { mirroredBack } from "../models/calibration.ts";
import { cropToFace } from "../data/crop_io.ts";
import type { FaceDetector } from "./detect.ts";
import type { Box, CropBox } from "../core/box.ts";
import type { RawImage } from "../core/image.ts";
import type { PredictedFace } from "./types.ts";
import { UsageError } from "../core/errors.ts";
import { readGray, readRgb } from "../core/image_io.ts";
import type { KeypointPredictor } from "../models/types.ts";
import { type AnnotatedFace, type AnnotateOptions } from "../viz/annotate.ts";
import { writeAnnotatedPng } from "../viz/png_io.ts";

/** What {@link predictImageFile} returns (and `deno task predict --json` prints, one per line). */
export interface PredictionResult {
  /** The path as given. */
  file: string;
  /** Photo size in pixels. */
  width: number;
  height: number;
  /** One entry per detected face, largest first; `[]` when none was found. */
  faces: PredictedFace[];
}

/** Options of {@link predictImageFile} and {@link predictFaces}. */
export interface PredictOptions {
  /** Crop margin, same meaning as `squareBoxAround`'s; default `DEFAULT_CROP_MARGIN` (0.25), as in training. */
  margin?: number;
  /**
   * Refinement rounds: re-crop each face around its previous prediction, framed as the training crops are
   * (`cropBoxFromKeypoints`), and predict again. 0 (the default) is one shot from the detector's box.
   */
  refine?: number;
  /** Average each prediction with the one on the mirrored crop (flip test-time augmentation). */
  flip?: boolean;
  /**
   * Scale test-time augmentation: after the last round, predict each face again on its crop scaled by each
   * of these factors about its centre, and keep the coordinate-wise median of the predictions that lie
   * inside their crops (the last round's included). Default none.
   */
  scales?: readonly number[];
}

/**
 * What `deno task predict` does by default, chosen on the validation photos (README, "Keypoints on real
 * photos"): one refinement round and flip test-time augmentation (four predictions per face) with the
 * detector below.
 */
export const DEFAULT_REFINE = 1;

/** Flip test-time augmentation in `deno task predict` by default (see {@link DEFAULT_REFINE}). */
export const DEFAULT_FLIP = true;

/**
 * `deno task predict`'s scale test-time augmentation (`--scale-tta`, {@link DEFAULT_SCALES}): the median of the
 * crop at 0.92, 1 and 1.08 times its side. Chosen on the validation photos (README, "Scale test-time
 * augmentation"): with the model before its second training cycle end-to-end NME 5.77 % → 5.53 % and failures
 * 5.3 % → 3.9 % (a median of five, two shifts added, gave the same; the mean of three 5.58 %); with the
 * bundled model 5.08 % → 4.98 % and 3.1 % → 2.7 %.
 */
export const DEFAULT_SCALE_TTA = 0.08;

/** The crop scales of scale test-time augmentation `f` (`--scale-tta F`): 1 − f and 1 + f; none for 0. */
export function scaleTtaScales(f: number): number[] {
  return f > 0 ? [1 - f, 1 + f] : [];
}

/** {@link DEFAULT_SCALE_TTA}'s scales, predict's `PredictOptions.scales`. */
export const DEFAULT_SCALES: readonly number[] = scaleTtaScales(DEFAULT_SCALE_TTA);

/**
 * The detector `deno task predict` uses by default (`detectors_io.ts`): the CNN detector's faces and those
 * only the frontal cascade finds, and the whole cascade chain where neither finds one. End-to-end failures
 * 5.3 % against 7.8 % with the chain alone (HELEN 3.6 % against 13.3 %), with refinement and flip.
 */
export const DEFAULT_DETECTOR: string = "cnn|default+chain";

/**
 * Predicts keypoints for faces already found in `gray`: crops each box, runs the predictor once on all of
 * them, and maps the 96×96 coordinates back to `gray`'s pixels. Faces keep the order of `boxes`.
 */
export async function predictFaces(
  gray: RawImage,
  boxes: readonly Box[],
  predictor: KeypointPredictor,
  opts: PredictOptions = {},
): Promise<PredictedFace[]> {
  if (boxes.length === 0) return [];
  const refine = opts.refine ?? 0;
  if (!Number.isInteger(refine) || refine < 0 || refine > 5) {
    throw new UsageError(`refine must be an integer from 0 to 5, got ${opts.refine}`);
  }
  for (const f of opts.scales ?? []) {
    if (!(f >= 0.5 && f <= 2)) throw new UsageError(`a scale of the crop must be in [0.5, 2], got ${f}`);
  }
  const crops = boxes.map((b) => cropBoxForDetection(b, opts.margin));
  const points = await predictCrops(gray, crops, predictor, opts.flip ?? false);
  await rescueOutliers(gray, crops, points, predictor, opts.flip ?? false);
  // Only faces whose new crop is plausible are predicted again, and a new prediction is kept only where it
  // lies inside its own crop; a face refused once keeps its last crop and keypoints and leaves the rounds
  // (framing again from the same keypoints would only repeat the refused prediction).
  let active = crops.map((_, i) => i);
  for (let round = 0; round < refine && active.length > 0; round++) {
    const moves = active.map((i) => ({ i, box: cropBoxFromKeypoints(points[i], opts.margin) }))
      .filter(({ i, box }) => plausibleRefinement(box, crops[i]));
    if (moves.length === 0) break;
    const again = await predictCrops(gray, moves.map((m) => m.box), predictor, opts.flip ?? false);
    active = [];
    moves.forEach(({ i, box }, j) => {
      if (!keypointsInsideCrop(again[j], box)) return;
      [crops[i], points[i]] = [box, again[j]];
      active.push(i);
    });
  }
  if (opts.scales?.length) await scaleVote(gray, crops, points, predictor, opts.flip ?? false, opts.scales);
  return boxes.map((b, i) => {
    const keypoints = {} as Record<KeypointName, [number, number]>;
    KEYPOINT_NAMES.forEach((name, k) => keypoints[name] = [points[i][2 * k], points[i][2 * k + 1]]);
    return { box: [b.x, b.y, b.width, b.height], keypoints };
  });
}

/**
 * Shifts of a crop tried where its prediction lies outside it, as fractions of its side. Measured on the
 * LFPW collage face (`image_0038`): the bundled model put the nose 120 px outside a well-framed 132-px crop,
 * and gave a good prediction on the same crop moved 4 px; a network's answer can break on one framing.
 */
const RESCUE_SHIFTS: readonly [number, number][] = [[-0.04, 0], [0.04, 0], [0, -0.04], [0, 0.04]];

/**
 * Where a face's prediction lies outside its own crop (`keypointsInsideCrop`), predicts it again on the crop
 * moved a little each way ({@link RESCUE_SHIFTS}) and keeps the coordinate-wise median of the predictions
 * that lie inside their crops; the face keeps its crop and prediction when none does. Only such faces cost
 * more, in one batch.
 */
async function rescueOutliers(
  gray: RawImage,
  crops: CropBox[],
  points: Float64Array[],
  predictor: KeypointPredictor,
  flip: boolean,
): Promise<void> {
  const outliers = crops.map((_, i) => i).filter((i) => !keypointsInsideCrop(points[i], crops[i]));
  if (outliers.length === 0) return;
  const moved = outliers.flatMap((i) =>
    RESCUE_SHIFTS.map(([dx, dy]) => {
      const c = crops[i];
      return { x: Math.round(c.x + dx * c.size), y: Math.round(c.y + dy * c.size), size: c.size };
    })
  );
  const again = await predictCrops(gray, moved, predictor, flip);
  outliers.forEach((face, k) => {
    const good = RESCUE_SHIFTS.map((_, j) => k * RESCUE_SHIFTS.length + j)
      .filter((j) => keypointsInsideCrop(again[j], moved[j])).map((j) => again[j]);
    if (good.length > 0) points[face] = medianOf(good);
  });
}

/** A crop scaled by `factor` about its centre. */
function scaledCrop(c: CropBox, factor: number): CropBox {
  const size = Math.max(1, Math.round(c.size * factor));
  return { x: Math.round(c.x + (c.size - size) / 2), y: Math.round(c.y + (c.size - size) / 2), size };
}

/**
 * Scale test-time augmentation (`PredictOptions.scales`): every face predicted again on its crop scaled by
 * each factor, in one batch; its points become the coordinate-wise median of its current prediction and the
 * new ones that lie inside their crops (a median, not a mean: one broken prediction of three is outvoted).
 */
async function scaleVote(
  gray: RawImage,
  crops: readonly CropBox[],
  points: Float64Array[],
  predictor: KeypointPredictor,
  flip: boolean,
  scales: readonly number[],
): Promise<void> {
  const scaled = crops.flatMap((c) => scales.map((f) => scaledCrop(c, f)));
  const again = await predictCrops(gray, scaled, predictor, flip);
  crops.forEach((_, i) => {
    const votes = scales.map((_, j) => i * scales.length + j)
      .filter((j) => keypointsInsideCrop(again[j], scaled[j])).map((j) => again[j]);
    points[i] = medianOf([points[i], ...votes]);
  });
}

/**
 * Cuts each crop, predicts all of them at once, and returns each face's 30 coordinates in `gray`'s pixels.
 * With `flip`, the mean of the predictions on the crop and on its mirror image, unless only one of the two
 * lies inside the crop: then that one (`flipPairMean`).
 */
async function predictCrops(
  gray: RawImage,
  crops: readonly CropBox[],
  predictor: KeypointPredictor,
  flip: boolean,
): Promise<Float64Array[]> {
  const pixels = IMAGE_SIZE * IMAGE_SIZE, n = crops.length;
  const images = new Float32Array(n * pixels);
  for (let i = 0; i < n; i++) images.set(await cropToFace(gray, crops[i]), i * pixels);
  const plain = inPhoto(await predictor.predict(images, n), crops, predictor.name);
  if (!flip) return plain;
  const mirrored = inPhoto(
    mirroredBack(await predictor.predict(flipImages(images, n), n), n, predictor.offsets),
    crops,
    predictor.name,
  );
  return plain.map((p, i) => flipPairMean(p, mirrored[i], crops[i]));
}

/** A predictor's `n × 30` crop coordinates as each face's 30 coordinates in the photo's pixels. */
function inPhoto(coords: Float32Array, crops: readonly CropBox[], name: string): Float64Array[] {
  if (coords.length !== crops.length * NUM_COORDS) {
    throw new Error(
      `predictor "${name}" returned ${coords.length} numbers for ${crops.length} faces ` +
        `(expected ${crops.length * NUM_COORDS})`,
    );
  }
  return crops.map((crop, i) => {
    const out = new Float64Array(NUM_COORDS);
    for (let k = 0; k < NUM_COORDS; k += 2) {
      const o = i * NUM_COORDS + k;
      [out[k], out[k + 1]] = fromCropCoords(coords[o], coords[o + 1], crop);
    }
    return out;
  });
}

/**
 * Reads a photo (any format and channel count sharp decodes), finds its faces and predicts their keypoints
 * in the photo's pixels.
 *
 * @throws {DataError} naming the file when it is missing or does not decode as an image.
 */
export async function predictImageFile(
  path: string,
  detector: FaceDetector,
  predictor: KeypointPredictor,
  opts: PredictOptions = {},
): Promise<PredictionResult> {
  const gray = await readGray(path);
  const faces = await predictFaces(gray, detector.detect(gray), predictor, opts);
  return { file: path, width: gray.width, height: gray.height, faces };
}

/** The faces of a result as {@link AnnotatedFace}s (labelled "face 1", "face 2", … when there are several). */
export function annotationsFor(result: PredictionResult): AnnotatedFace[] {
  return result.faces.map((f, i) => ({
    box: f.box,
    keypoints: f.keypoints,
    label: result.faces.length > 1 ? `face ${i + 1}` : undefined,
  }));
}

/**
 * Draws a result (boxes, keypoints, optionally their names) on its photo, in colour, and writes a PNG
 * atomically to `outPath`.
 *
 * @example
 * ```ts
 * import { createFaceDetector } from "./detect_io.ts";
 * import { DEFAULT_MODEL_DIR, loadKeypointModel } from "../models/folder_io.ts";
 * const model = await loadKeypointModel(DEFAULT_MODEL_DIR);
 * const result = await predictImageFile("data/portraits/astronaut.png", await createFaceDetector(), model);
 * await annotateResult(result, "outputs/predictions/astronaut.png", { labels: true });
 * ```
 */
export async function annotateResult(
  result: PredictionResult,
  outPath: string,
  opts: AnnotateOptions = {},
): Promise<void> {
  const rgb = await readRgb(result.file);
  if (rgb.width !== result.width || rgb.height !== result.height) {
    throw new UsageError(
      `${result.file} is ${rgb.width}×${rgb.height} but the result is for ${result.width}×${result.height}`,
    );
  }
  await writeAnnotatedPng(outPath, rgb, annotationsFor(result), opts);
}
