/**
 * End-to-end evaluation on photos with ground-truth landmarks: detect the face, predict its keypoints,
 * and compare them with the truth in the original image's pixels, as a user of `deno task predict` sees
 * them (detector misses and crop framing included).
 *
 * Per image: the ground-truth face is the bounding box of its 68 landmarks; the detection matched to it is
 * the one containing the landmark box's centre with the largest overlap (IoU). NME is the mean distance
 * between the 15 predicted keypoints and the 15 computed from the 68 landmarks, divided by the distance
 * between the outer eye corners (68-point indices 36 and 45). `nme` averages over detected faces;
 * `failure_rate_10` is the share of all images with NME > 0.10 or no matched detection.
 *
 * @example
 * ```ts
 * import { readLandmarks68Folder } from "../data/landmarks68_io.ts";
 * import { createFaceDetector } from "../face/detect_io.ts";
 * import { DEFAULT_MODEL_DIR, loadKeypointModel } from "../models/folder_io.ts";
 * const ds = await readLandmarks68Folder("../shared/data/ytf68", "test");
 * const model = await loadKeypointModel(DEFAULT_MODEL_DIR);
 * const report = await evaluateEndToEnd(await createFaceDetector(), model, ds);
 * // { n: 694, detected: …, nme: …, failure_rate_10: …, ms_per_image: … }
 * ```
 *
 * @module
 */

import { DATASET_CACHE_DIR } from "../data/dataset_cache_io.ts";
import { IBUG68_OUTER_EYE_CORNERS, KEYPOINT_NAMES, NUM_LANDMARKS_68 } from "../core/constants.ts";
import { landmarks68ToKaggle15 } from "../data/landmarks68_io.ts";
import { pointBounds } from "../data/crop.ts";
import type { CropSource, KeypointDataset } from "../data/types.ts";
import type { FaceDetector, FaceDetectorOptions } from "../face/detect.ts";
import { type Box, iou } from "../core/box.ts";
import { UsageError } from "../core/errors.ts";
import { readGray } from "../core/image_io.ts";
import type { KeypointPredictor } from "../models/types.ts";
import { loadKeypointModel, readMetadata, resolveModelDir, withConvention } from "../models/mod.ts";
import { conventionsLine } from "./metrics.ts";
import { conventionForPart, NO_CONVENTION } from "../models/calibration.ts";
import { facePartNames, loadDataset } from "../data/spec_io.ts";
import {
  DEFAULT_DETECTOR,
  DEFAULT_FLIP,
  DEFAULT_REFINE,
  DEFAULT_SCALES,
  predictFaces,
  type PredictOptions,
} from "../face/predict_io.ts";
import { progressBar } from "../train/progress_io.ts";
import { openFaceDetector } from "../face/detectors_io.ts";
import { type CachedDetector, cachedDetector, DETECTION_CACHE_DIR } from "../face/detection_cache_io.ts";
import { splitLikeTraining } from "../train/train_io.ts";

/** The summary `deno task evaluate --end-to-end --json` prints. */
export interface EndToEndReport {
  /** Images evaluated. */
  n: number;
  /** Images where a detection matched the ground-truth face. */
  detected: number;
  /** Mean NME over the detected faces (NaN when none was detected). */
  nme: number;
  /** Share of images with NME > 0.10 or no detection. */
  failure_rate_10: number;
  /** Wall time per image: decode, detect, crop, predict. */
  ms_per_image: number;
  /** The same per part, when the dataset was several (`A+B`). */
  parts?: Record<string, EndToEndReport>;
  /** Per part, the annotation convention its faces were predicted in (`runEndToEnd`). */
  conventions?: Record<string, string>;
  /**
   * Images whose detection was answered from the detection cache (`runEndToEnd` with `cache`): their time
   * leaves out the detector.
   */
  detections_cached?: number;
}

/** Per-image outcome, for plots and error analysis. */
export interface EndToEndImage {
  file: string;
  /** The matched detection, or null when the face was missed. */
  box: [number, number, number, number] | null;
  /** NME of this face (NaN when missed). */
  nme: number;
}

/** Options of {@link evaluateEndToEnd}. */
export interface EndToEndOptions extends PredictOptions {
  /** Called after each image with the number done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Receives the per-image outcomes when given. */
  perImage?: EndToEndImage[];
  /** Answers detections from (and adds them to) a cache on disk instead of calling `detector`. */
  detectionCache?: CachedDetector;
  /** The predictor of face i (its part's annotation convention, `runEndToEnd`); default `predictor`. */
  predictorOfFace?: (i: number) => KeypointPredictor;
}

/**
 * Detects, predicts and scores every face of `ds` whose `sources` carry the file and its 68 landmarks
 * (as `readLandmarks68Folder` and `readPtsFolder` return them). The 96×96 crops in `ds` are not used.
 *
 * @throws {UsageError} when the dataset has no sources or a source lacks its 68 landmarks.
 * @throws {DataError} when an image is missing or does not decode.
 */
export async function evaluateEndToEnd(
  detector: FaceDetector,
  predictor: KeypointPredictor,
  ds: Pick<KeypointDataset, "name" | "n" | "sources" | "parts">,
  opts: EndToEndOptions = {},
): Promise<EndToEndReport> {
  const sources = checkSources(ds);
  const total = new Tally(), byPart = new Map<string, Tally>();
  for (let i = 0; i < sources.length; i++) {
    const { file, landmarks68 } = sources[i];
    const start = performance.now();
    const gray = await readGray(file);
    const boxes = opts.detectionCache ? await opts.detectionCache.detectAsync(gray) : detector.detect(gray);
    const match = matchDetection(boxes, landmarks68!);
    let nme = NaN;
    if (match) {
      const [face] = await predictFaces(gray, [match], opts.predictorOfFace?.(i) ?? predictor, opts);
      nme = faceNme(face.keypoints, landmarks68!);
    }
    const ms = performance.now() - start;
    total.add(nme, ms);
    if (ds.parts) {
      const part = ds.parts[i];
      if (!byPart.has(part)) byPart.set(part, new Tally());
      byPart.get(part)!.add(nme, ms);
    }
    opts.perImage?.push({ file, box: match ? [match.x, match.y, match.width, match.height] : null, nme });
    opts.onProgress?.(i + 1, sources.length);
  }
  const report = total.report();
  if (byPart.size > 1) report.parts = Object.fromEntries([...byPart].map(([k, t]) => [k, t.report()]));
  return report;
}

/** Running sums of one set of faces: misses (NaN) count as failures and are left out of the mean NME. */
class Tally {
  n = 0;
  detected = 0;
  failures = 0;
  nmeSum = 0;
  ms = 0;
  add(nme: number, ms: number): void {
    this.n++;
    this.ms += ms;
    if (Number.isFinite(nme)) this.detected++, this.nmeSum += nme;
    if (!(nme <= 0.10)) this.failures++;
  }
  report(): EndToEndReport {
    const { n, detected } = this;
    return {
      n,
      detected,
      nme: detected > 0 ? this.nmeSum / detected : NaN,
      failure_rate_10: n > 0 ? this.failures / n : NaN,
      ms_per_image: n > 0 ? this.ms / n : NaN,
    };
  }
}

/**
 * The detection that belongs to the face with these 68 landmarks: among boxes containing the centre of the
 * landmarks' bounding box, the one with the largest IoU with it; null if no box contains the centre.
 */
export function matchDetection(boxes: readonly Box[], landmarks68: ArrayLike<number>): Box | null {
  const truth = landmarkBox(landmarks68);
  const cx = truth.x + truth.width / 2, cy = truth.y + truth.height / 2;
  let best: Box | null = null, bestIou = -1;
  for (const b of boxes) {
    // Pixel centres are integers, so a box at x with width w spans x − 0.5 … x + w − 0.5.
    const inside = cx >= b.x - 0.5 && cx <= b.x + b.width - 0.5 && cy >= b.y - 0.5 &&
      cy <= b.y + b.height - 0.5;
    if (!inside) continue;
    const score = iou({ ...b, x: b.x - 0.5, y: b.y - 0.5 }, truth);
    if (score > bestIou) best = b, bestIou = score;
  }
  return best;
}

/**
 * NME of one face: mean distance between predicted keypoints (by name, original pixels) and the 15 computed
 * from `landmarks68`, divided by the distance between landmarks 36 and 45. Missing truth points are skipped.
 */
export function faceNme(
  keypoints: Readonly<Record<string, readonly [number, number]>>,
  landmarks68: ArrayLike<number>,
): number {
  const truth = landmarks68ToKaggle15(landmarks68);
  const [a, b] = IBUG68_OUTER_EYE_CORNERS;
  const norm = Math.hypot(
    landmarks68[2 * a] - landmarks68[2 * b],
    landmarks68[2 * a + 1] - landmarks68[2 * b + 1],
  );
  let sum = 0, count = 0;
  KEYPOINT_NAMES.forEach((name, k) => {
    const tx = truth[2 * k], ty = truth[2 * k + 1];
    if (!Number.isFinite(tx) || !Number.isFinite(ty)) return;
    const [px, py] = keypoints[name];
    sum += Math.hypot(px - tx, py - ty);
    count++;
  });
  return count > 0 && norm > 0 ? sum / count / norm : NaN;
}

function checkSources(ds: Pick<KeypointDataset, "name" | "n" | "sources">): CropSource[] {
  if (!ds.sources || ds.sources.length !== ds.n) {
    throw new UsageError(
      `end-to-end evaluation needs the original images and their 68 landmarks; dataset "${ds.name}" has none ` +
        "(use a 68-landmark folder or a 300-W folder)",
    );
  }
  ds.sources.forEach((s, i) => {
    if (!s.landmarks68 || s.landmarks68.length !== 2 * NUM_LANDMARKS_68) {
      throw new UsageError(`dataset "${ds.name}", face ${i} (${s.file}): no 68 ground-truth landmarks`);
    }
  });
  return ds.sources;
}

/** Bounding box of the finite landmarks, in continuous coordinates. */
function landmarkBox(points: ArrayLike<number>): Box {
  const { minX, minY, maxX, maxY } = pointBounds(points);
  return { x: minX, y: minY, width: maxX - minX, height: maxY - minY };
}

/**
 * What {@link runEndToEnd} needs: the model, the dataset spec, and optional detector / crop settings. What is
 * not given is what `deno task predict` does (`DEFAULT_DETECTOR`, `DEFAULT_REFINE`, `DEFAULT_FLIP`,
 * `DEFAULT_SCALES`), so that a run measures the photos as a user of predict sees them.
 */
export interface EndToEndCommandOptions {
  model: string;
  data: string;
  limit?: number;
  margin?: number;
  detector?: FaceDetectorOptions;
  /** Which detector (`default`, `chain`, `cnn`, or several joined by `+`, see `detectors_io.ts`); default predict's. */
  detectorSpec?: string;
  /** The CNN detector's folder, score threshold and tiles when the spec names `cnn` (`OpenDetectorOptions`). */
  cnnDir?: string;
  cnnThreshold?: number;
  cnnTiles?: number;
  /** Score only the faces of this part of the model's training split (re-made from its metadata). */
  split?: "training" | "validation";
  /** Re-make the split from this model folder's metadata instead (to score several models on one set). */
  splitFrom?: string;
  /** Remember detections in `outputs/cache/detections/` (they do not depend on the model). */
  cache?: boolean;
  /** Refinement rounds, flip and scale test-time augmentation (see `PredictOptions`); default predict's. */
  refine?: number;
  flip?: boolean;
  scales?: readonly number[];
  /** Progress on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  /**
   * The annotation convention to predict in (`deno task calibrate`); default: each part's own where the
   * model has one, else the model's default.
   */
  convention?: string;
}

/**
 * The detector of an end-to-end run (`detectorSpec`, default predict's); with `cache`, a detection
 * cache in `cacheDir` (default `outputs/cache/detections/`) shared by every run with the same detector and
 * settings.
 */
export async function openDetector(
  opts:
    & Pick<
      EndToEndCommandOptions,
      "detector" | "detectorSpec" | "cnnDir" | "cnnThreshold" | "cnnTiles" | "cache"
    >
    & {
      cacheDir?: string;
    },
): Promise<{ detector: FaceDetector; detectionCache?: CachedDetector }> {
  const { detector, label } = await openFaceDetector(opts.detectorSpec ?? DEFAULT_DETECTOR, {
    haar: opts.detector,
    cnnDir: opts.cnnDir,
    threshold: opts.cnnThreshold,
    tiles: opts.cnnTiles,
  });
  const detectionCache = opts.cache ? await cachedDetector(detector, label, opts.cacheDir) : undefined;
  return { detector, detectionCache };
}

/**
 * Loads the model and dataset, evaluates end to end, and frees the model. The tfjs backend must already be
 * started (`initBackend`).
 */
export async function runEndToEnd(opts: EndToEndCommandOptions): Promise<EndToEndReport & { data: string }> {
  const predictor = await loadKeypointModel(opts.model, { convention: NO_CONVENTION });
  let ds = await loadDataset(opts.data, { limit: opts.limit, cacheDir: DATASET_CACHE_DIR });
  if (opts.split) {
    const metadata = opts.splitFrom
      ? await readMetadata(await resolveModelDir(opts.splitFrom))
      : predictor.metadata;
    ds = splitLikeTraining(ds, metadata, opts.split);
  }
  const parts = facePartNames(ds, opts.data);
  const conventions: Record<string, string> = {};
  const ofPart = new Map<string, KeypointPredictor>();
  for (const part of new Set(parts)) {
    conventions[part] = conventionForPart(predictor.metadata.calibration, part, opts.convention);
    ofPart.set(part, withConvention(predictor, conventions[part]));
  }
  const { detector, detectionCache } = await openDetector(opts);
  const bar = progressBar(ds.name, "images", { tty: opts.progress ?? Deno.stderr.isTerminal() });
  try {
    const report = await evaluateEndToEnd(detector, predictor, ds, {
      margin: opts.margin,
      refine: opts.refine ?? DEFAULT_REFINE,
      flip: opts.flip ?? DEFAULT_FLIP,
      scales: opts.scales ?? DEFAULT_SCALES,
      detectionCache,
      predictorOfFace: (i) => ofPart.get(parts[i])!,
      onProgress: (done, total) => bar.update(done, total),
    });
    return { data: ds.name, ...report, conventions, detections_cached: detectionCache?.stats.hits ?? 0 };
  } finally {
    bar.finish();
    await detectionCache?.save();
    detector.close();
    predictor.model.dispose();
  }
}

/** The report as one JSON line (NaN as null). */
export function endToEndJson(report: EndToEndReport): string {
  const num = (v: number) => Number.isFinite(v) ? v : null;
  const plain = (r: EndToEndReport) => ({
    n: r.n,
    detected: r.detected,
    nme: num(r.nme),
    failure_rate_10: num(r.failure_rate_10),
    ms_per_image: num(r.ms_per_image),
  });
  return JSON.stringify({
    ...plain(report),
    ...(report.detections_cached !== undefined ? { detections_cached: report.detections_cached } : {}),
    ...(report.conventions ? { conventions: report.conventions } : {}),
    ...(report.parts
      ? { parts: Object.fromEntries(Object.entries(report.parts).map(([k, r]) => [k, plain(r)])) }
      : {}),
  });
}

/**
 * The report as a markdown table: one row per part (when there are several), then the total; below it, the
 * annotation convention of each part, and how many detections came from the cache, where any did (their
 * times are not the detector's).
 */
export function endToEndTable(report: EndToEndReport & { data?: string }): string {
  const pct = (v: number) => Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "n/a";
  const row = (name: string, r: EndToEndReport) =>
    `| ${name} | ${r.n} | ${r.detected} (${pct(r.detected / r.n)}) | ` +
    `${Number.isFinite(r.nme) ? (100 * r.nme).toFixed(2) + "%" : "n/a"} | ${pct(r.failure_rate_10)} | ` +
    `${r.ms_per_image.toFixed(1)} ms |`;
  const head = report.data ? `${report.data}, end to end\n\n` : "";
  return head +
    "| part | faces | detected | NME (outer eye corners) | failure rate (NME > 10 % or missed) | time per face |\n" +
    "|---|---:|---:|---:|---:|---:|\n" +
    [...Object.entries(report.parts ?? {}).map(([k, r]) => row(k, r)), row("all", report)].join("\n") +
    (report.conventions ? `\n\n${conventionsLine(report.conventions)}` : "") +
    (report.detections_cached
      ? `\n\nThe detections of ${report.detections_cached} of ${report.n} images came from the cache ` +
        `(${DETECTION_CACHE_DIR}/): their time per face leaves out the detector (--no-cache to time it all).`
      : "");
}
