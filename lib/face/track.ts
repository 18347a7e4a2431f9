/**
 * Faces followed from frame to frame, so that the face detector need not run on every frame of a video:
 * after a detection, each face's next crop is placed from its last keypoints (the crop follows the face),
 * and the detector runs again only every `detectEvery` frames or as soon as a face is lost.
 *
 * The crop that follows the keypoints keeps the size and the placement relative to the keypoints' centroid
 * that the last detection gave it, and moves with the centroid. Each frame's keypoints are also fitted
 * (least squares, scale and shift) to {@link MEAN_FACE}, the mean training face: a large residual (the
 * points do not look like a face), a jump in fitted size, or a crop mostly off the frame counts as lost.
 *
 * The per-frame loop is the same in Deno (video files) and in the browser (camera page): the caller passes
 * how to detect faces in a frame and how to cut a 96×96 crop out of it; everything else (which frames to
 * detect on, crop placement, mapping back to frame pixels, smoothing) is here. No Deno or npm imports run
 * here, so the module bundles for the browser.
 *
 * @example
 * ```ts
 * import { FaceTracker } from "./track.ts";
 * import { createFaceDetector } from "./detect_io.ts";
 * import { cropToFace } from "../data/crop_io.ts";
 * import { readGray } from "../core/image_io.ts";
 * import type { RawImage } from "../core/image.ts";
 * import { DEFAULT_MODEL_DIR, loadKeypointModel } from "../models/folder_io.ts";
 * const detector = await createFaceDetector();
 * const predictor = await loadKeypointModel(DEFAULT_MODEL_DIR);
 * const frames = [await readGray("frame0.png"), await readGray("frame1.png")], fps = 30;
 * const tracker = new FaceTracker<RawImage>({
 *   detect: (frame) => detector.detect(frame),
 *   crop: (frame, box) => cropToFace(frame, box),
 *   predictor,
 * }, { detectEvery: 10, smoothing: { kind: "one-euro", minCutoff: 1, beta: 1, dCutoff: 1 } });
 * for (const [i, frame] of frames.entries()) {
 *   const { faces } = await tracker.process(frame, i / fps, frame.width, frame.height);
 * }
 * ```
 *
 * @module
 */

import { UsageError } from "../core/errors.ts";
import {
  IMAGE_SIZE,
  KEYPOINT_NAMES,
  type KeypointName,
  NUM_COORDS,
  NUM_KEYPOINTS,
} from "../core/constants.ts";
import { DEFAULT_CROP_MARGIN, fromCropCoords } from "../data/crop.ts";
import { type Box, type CropBox, cropBoxArea, iou } from "../core/box.ts";
import type { KeypointPredictor } from "../models/types.ts";
import { type PredictedFace } from "./types.ts";
import { cropBoxForDetection } from "../data/crop.ts";
import { createSmoother, type Smoother, type SmoothingSpec } from "./smoothing.ts";

/**
 * The mean training face: each keypoint's mean position relative to the centre of the 68-landmark
 * bounding box, in units of that box's larger side (x right, y down), Kaggle order `[x0, y0, x1, y1, …]`.
 * Measured on the 3129 training frames of `../shared/data/ytf68` (`readLandmarks68Folder`, margin 0.25:
 * `rel = ((u + 0.5) / 96 − 0.5) · 1.5`).
 */
export const MEAN_FACE: readonly number[] = [
  0.2006,
  -0.293,
  -0.2014,
  -0.2894,
  0.1212,
  -0.2889,
  0.2761,
  -0.297,
  -0.1238,
  -0.2864,
  -0.2766,
  -0.2927,
  0.1139,
  -0.4236,
  0.3595,
  -0.3998,
  -0.1195,
  -0.4211,
  -0.3684,
  -0.3937,
  0.0097,
  -0.0498,
  0.1686,
  0.1556,
  -0.1578,
  0.1588,
  0.0098,
  0.1081,
  0.0122,
  0.2408,
];

/** What the tracker needs from its platform: face detection and the 96×96 crop, on its own frame type. */
export interface TrackerHooks<F> {
  /** Faces in the frame, largest first. */
  detect(frame: F): Box[] | Promise<Box[]>;
  /** The square `box` of the frame (black outside it) resized to 96×96 grayscale in [0, 1]. */
  crop(frame: F, box: CropBox): Float32Array | Promise<Float32Array>;
  /** The keypoint model. */
  predictor: KeypointPredictor;
}

/** Settings of {@link FaceTracker}; every field has a default. */
export interface TrackerOptions {
  /**
   * Run the detector on every `detectEvery`-th frame (and whenever a face is lost); in between, faces are
   * followed by their keypoints. 1 (default) = detect on every frame, no tracking.
   */
  detectEvery?: number;
  /** Crop margin as in training (default `DEFAULT_CROP_MARGIN`, 0.25). */
  margin?: number;
  /** Keypoint smoothing over time per face; default none. */
  smoothing?: SmoothingSpec;
  /** Largest RMS distance of the keypoints from the fitted mean face, in face sizes, before a face counts
   * as lost; default 0.12. */
  maxResidual?: number;
  /** Most faces followed at once (largest kept); default 8. */
  maxFaces?: number;
}

/** A face on one frame: as for photos, plus which track it belongs to and how its crop was placed. */
export interface TrackedFace extends PredictedFace {
  /** Track number: the same face keeps its number from frame to frame. */
  track: number;
  /** True when the detector found this face on this frame; false when its crop followed the keypoints. */
  detected: boolean;
}

/** What {@link FaceTracker.process} returns for a frame. */
export interface TrackedFrame {
  faces: TrackedFace[];
  /** Whether the detector ran on this frame. */
  detected: boolean;
}

/** The fit of keypoints to {@link MEAN_FACE}: landmark-box centre, larger side (px) and relative residual. */
export interface FaceFit {
  cx: number;
  cy: number;
  extent: number;
  residual: number;
}

/**
 * Least-squares fit `points ≈ centre + extent · MEAN_FACE` (NaN points skipped). Returns undefined with
 * fewer than 3 points or a degenerate fit (extent ≤ 0). Exported for the tests only (the leading `_`).
 */
export function _fitMeanFace(points: ArrayLike<number>): FaceFit | undefined {
  let n = 0, kx = 0, ky = 0, rx = 0, ry = 0;
  for (let k = 0; k < NUM_KEYPOINTS; k++) {
    const x = points[2 * k], y = points[2 * k + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    n++, kx += x, ky += y, rx += MEAN_FACE[2 * k], ry += MEAN_FACE[2 * k + 1];
  }
  if (n < 3) return undefined;
  kx /= n, ky /= n, rx /= n, ry /= n;
  let num = 0, den = 0;
  for (let k = 0; k < NUM_KEYPOINTS; k++) {
    const x = points[2 * k], y = points[2 * k + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    const ax = MEAN_FACE[2 * k] - rx, ay = MEAN_FACE[2 * k + 1] - ry;
    num += (x - kx) * ax + (y - ky) * ay;
    den += ax * ax + ay * ay;
  }
  const extent = num / den;
  if (!(extent > 0)) return undefined;
  const cx = kx - extent * rx, cy = ky - extent * ry;
  let sq = 0;
  for (let k = 0; k < NUM_KEYPOINTS; k++) {
    const x = points[2 * k], y = points[2 * k + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    sq += (x - cx - extent * MEAN_FACE[2 * k]) ** 2 + (y - cy - extent * MEAN_FACE[2 * k + 1]) ** 2;
  }
  return { cx, cy, extent, residual: Math.sqrt(sq / n) / extent };
}

/** 30 coordinates as the named `[x, y]` pairs of a result. */
function keypointRecord(coords: ArrayLike<number>): Record<KeypointName, [number, number]> {
  const out = {} as Record<KeypointName, [number, number]>;
  KEYPOINT_NAMES.forEach((name, k) => out[name] = [coords[2 * k], coords[2 * k + 1]]);
  return out;
}

interface Track {
  id: number;
  /** Where to cut the next crop, and the face box reported with it. */
  crop: CropBox;
  box: [number, number, number, number];
  /** Crop centre minus keypoint centroid, measured on the last detection (NaN before the first fit). */
  offsetX: number;
  offsetY: number;
  /** Face size fitted on the last detection (NaN before). */
  extent: number;
  smoother: Smoother;
  /** Detection rounds in a row that did not find this face. */
  misses: number;
}

/** Mean of the finite x and y coordinates. */
function centroid(points: ArrayLike<number>): [number, number] {
  let x = 0, y = 0, n = 0;
  for (let i = 0; i + 1 < points.length; i += 2) {
    if (Number.isFinite(points[i]) && Number.isFinite(points[i + 1])) x += points[i], y += points[i + 1], n++;
  }
  return [x / n, y / n];
}

/** Fraction of a square inside a `width × height` frame. */
function insideFraction(b: CropBox, width: number, height: number): number {
  const w = Math.min(width, b.x + b.size) - Math.max(0, b.x);
  const h = Math.min(height, b.y + b.size) - Math.max(0, b.y);
  return w <= 0 || h <= 0 ? 0 : (w * h) / (b.size * b.size);
}

/**
 * Follows faces through a sequence of frames. One tracker per video or camera stream; call
 * {@link FaceTracker.process} with the frames in order.
 */
export class FaceTracker<F> {
  /** The settings in use, defaults filled in. */
  readonly options: Readonly<Required<TrackerOptions>>;
  #hooks: TrackerHooks<F>;
  #tracks: Track[] = [];
  #nextId = 1;
  #frame = 0;

  constructor(hooks: TrackerHooks<F>, opts: TrackerOptions = {}) {
    const o = {
      detectEvery: opts.detectEvery ?? 1,
      margin: opts.margin ?? DEFAULT_CROP_MARGIN,
      smoothing: opts.smoothing ?? { kind: "none" as const },
      maxResidual: opts.maxResidual ?? 0.12,
      maxFaces: opts.maxFaces ?? 8,
    };
    if (!Number.isInteger(o.detectEvery) || o.detectEvery < 1) {
      throw new UsageError(`detectEvery must be an integer ≥ 1, got ${o.detectEvery}`);
    }
    if (!(o.margin >= 0) || !Number.isFinite(o.margin)) {
      throw new UsageError(`margin must be ≥ 0, got ${o.margin}`);
    }
    if (!(o.maxResidual > 0)) throw new UsageError(`maxResidual must be > 0, got ${o.maxResidual}`);
    if (!Number.isInteger(o.maxFaces) || o.maxFaces < 1) {
      throw new UsageError(`maxFaces must be an integer ≥ 1, got ${o.maxFaces}`);
    }
    createSmoother(o.smoothing); // checks the spec now rather than on the first face
    this.options = o;
    this.#hooks = hooks;
  }

  /** Forgets every face (e.g. after a cut); the next frame runs the detector. */
  reset(): void {
    this.#tracks = [];
  }

  /**
   * Finds the faces of the next frame, taken at `time` seconds, and predicts their keypoints in frame
   * pixels (smoothed if asked). `width` × `height` is the frame's size.
   */
  async process(frame: F, time: number, width: number, height: number): Promise<TrackedFrame> {
    const index = this.#frame++;
    const scheduled = index % this.options.detectEvery === 0 || this.#tracks.length === 0;
    if (!scheduled) {
      const followed = await this.#predict(frame, this.#tracks, time, width, height);
      if (followed.every((f) => f.ok)) return { faces: followed.map((f) => f.face), detected: false };
      // A face was lost: detect on this very frame instead.
    }
    const boxes = (await this.#hooks.detect(frame)).slice(0, this.options.maxFaces);
    const crops = boxes.map((b) => cropBoxForDetection(b, this.options.margin));
    const matched = new Set<Track>();
    const next: Track[] = [];
    crops.forEach((crop, i) => {
      let best: Track | undefined, bestIou = 0.3;
      for (const t of this.#tracks) {
        const o = iou(cropBoxArea(t.crop), cropBoxArea(crop));
        if (!matched.has(t) && o > bestIou) best = t, bestIou = o;
      }
      const b = boxes[i];
      const box: [number, number, number, number] = [b.x, b.y, b.width, b.height];
      if (best) {
        matched.add(best);
        next.push({ ...best, crop, box, offsetX: NaN, offsetY: NaN, extent: NaN, misses: 0 });
      } else {
        const smoother = createSmoother(this.options.smoothing);
        next.push({
          id: this.#nextId++,
          crop,
          box,
          offsetX: NaN,
          offsetY: NaN,
          extent: NaN,
          smoother,
          misses: 0,
        });
      }
    });
    // A face the detector missed once is still followed (Haar misses ≈2% of frames); twice, it is dropped.
    if (scheduled) {
      for (const t of this.#tracks) {
        if (!matched.has(t) && t.misses < 1 && next.length < this.options.maxFaces) {
          next.push({ ...t, misses: 1 });
        }
      }
    }
    const results = await this.#predict(frame, next, time, width, height, crops.length);
    const faces = results.filter((r, i) => r.ok || i < crops.length).map((r) => r.face);
    return { faces, detected: true };
  }

  /**
   * Predicts keypoints in each track's crop, updates the tracks (next crop, size) and returns the faces.
   * The first `detectedCount` tracks come from this frame's detector.
   */
  async #predict(
    frame: F,
    tracks: Track[],
    time: number,
    width: number,
    height: number,
    detectedCount = 0,
  ): Promise<{ face: TrackedFace; ok: boolean }[]> {
    const n = tracks.length;
    const pixels = IMAGE_SIZE * IMAGE_SIZE;
    const images = new Float32Array(n * pixels);
    for (let i = 0; i < n; i++) images.set(await this.#hooks.crop(frame, tracks[i].crop), i * pixels);
    const coords = n > 0 ? await this.#hooks.predictor.predict(images, n) : new Float32Array(0);
    if (coords.length !== n * NUM_COORDS) {
      throw new Error(
        `predictor "${this.#hooks.predictor.name}" returned ${coords.length} numbers for ${n} faces`,
      );
    }
    const out: { face: TrackedFace; ok: boolean }[] = [];
    const kept: Track[] = [];
    for (let i = 0; i < n; i++) {
      const t = tracks[i];
      const raw = new Float32Array(NUM_COORDS);
      for (let k = 0; k < NUM_KEYPOINTS; k++) {
        const [x, y] = fromCropCoords(
          coords[i * NUM_COORDS + 2 * k],
          coords[i * NUM_COORDS + 2 * k + 1],
          t.crop,
        );
        raw[2 * k] = x, raw[2 * k + 1] = y;
      }
      const fit = _fitMeanFace(raw);
      const points = t.smoother.update(raw, time, fit?.extent ?? t.crop.size);
      const detected = i < detectedCount;
      const [mx, my] = centroid(raw); // the crop follows the unsmoothed points: no lag
      // The crop keeps the size and the placement relative to the keypoints that the last detection gave
      // it, and moves with the keypoints: a size taken from the predicted points themselves would feed
      // back the model's bias from frame to frame.
      const fresh = detected || !Number.isFinite(t.extent);
      const offsetX = fresh ? t.crop.x + (t.crop.size - 1) / 2 - mx : t.offsetX;
      const offsetY = fresh ? t.crop.y + (t.crop.size - 1) / 2 - my : t.offsetY;
      const extent = fresh ? fit?.extent ?? NaN : t.extent;
      const crop: CropBox = {
        x: Math.round(mx + offsetX - (t.crop.size - 1) / 2),
        y: Math.round(my + offsetY - (t.crop.size - 1) / 2),
        size: t.crop.size,
      };
      // Lost: not face-like, a jump in size, or mostly off the frame.
      const ok = fit !== undefined && Number.isFinite(mx) && fit.residual <= this.options.maxResidual &&
        fit.extent <= 1.5 * extent && fit.extent >= extent / 1.5 &&
        insideFraction(crop, width, height) >= 0.5;
      out.push({ face: { box: t.box, keypoints: keypointRecord(points), track: t.id, detected }, ok });
      if (ok) {
        const dx = crop.x - t.crop.x, dy = crop.y - t.crop.y;
        const [bx, by, bw, bh] = t.box;
        kept.push({ ...t, crop, box: [bx + dx, by + dy, bw, bh], offsetX, offsetY, extent });
      } else if (detected) {
        // The detector's box stays the face's until the next detection, whatever the keypoints look like.
        kept.push({ ...t, extent: NaN });
      }
    }
    this.#tracks = kept;
    return out;
  }
}

/**
 * {@link MEAN_FACE} as keypoints in a 96×96 crop with the given margin (`[x0, y0, …]`, Kaggle order): where
 * the mean training face lies in a training-style crop.
 */
export function meanFaceInCrop(margin: number = DEFAULT_CROP_MARGIN): Float32Array {
  return Float32Array.from(MEAN_FACE, (r) => (r / (1 + 2 * margin) + 0.5) * IMAGE_SIZE - 0.5);
}

/**
 * A baseline "model" that predicts the mean training face for every crop (what a model that learnt
 * nothing from the pixels would do); for tests and as the floor any trained model must beat.
 */
export function meanFacePredictor(margin: number = DEFAULT_CROP_MARGIN): KeypointPredictor {
  const face = meanFaceInCrop(margin);
  return {
    name: "mean-face",
    predict(images: Float32Array, n: number): Promise<Float32Array> {
      if (images.length !== n * IMAGE_SIZE * IMAGE_SIZE) {
        return Promise.reject(new UsageError(`predict: ${images.length} pixels for ${n} faces`));
      }
      const out = new Float32Array(n * NUM_COORDS);
      for (let i = 0; i < n; i++) out.set(face, i * NUM_COORDS);
      return Promise.resolve(out);
    },
  };
}
