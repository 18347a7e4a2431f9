/**
 * Training the CNN face detector (`face/cnn_detector.ts`) on photos with 68-landmark faces: the photos of a
 * keypoint dataset's training split (the same split, so a keypoint model's validation photos stay unseen by
 * both), augmented the way faces in the wild vary (zoom, shift, tilt up to ±30°, mirror, light), and the
 * network kept at the epoch that finds the most validation faces.
 *
 * The faces of one photo (AFW, HELEN name them `<photo>_<n>`) are one training photo with all its faces,
 * so that a face is never a negative in another face's copy of the photo. Frames of one video (ytf68) are
 * many near-copies of one face, so an epoch takes at most {@link MAX_PHOTOS_PER_GROUP} photos of a group.
 *
 * @example
 * ```ts
 * import { loadDataset } from "../data/spec_io.ts";
 * const ds = await loadDataset("../shared/data/ytf68+../shared/data/300w");
 * const result = await trainFaceDetector(ds, { epochs: 30, out: "outputs/models/face-detector" });
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { basename, dirname, extname } from "node:path";
import { type Box, iou } from "../core/box.ts";
import { UsageError } from "../core/errors.ts";
import type { RawImage } from "../core/image.ts";
import { readGray } from "../core/image_io.ts";
import { Rng } from "../core/rng.ts";
import { type Affine, composeAffine } from "../augment/augment.ts";
import { _photoOf } from "../data/landmarks68_io.ts";
import type { KeypointDataset } from "../data/types.ts";
import {
  cnnDetector,
  createFaceGridModel,
  DEFAULT_DETECTOR_THRESHOLD,
  DETECTOR_GRID,
  DETECTOR_INPUT,
  detectorLoss,
  encodeTargets,
  type FaceExtent,
  TARGET_CHANNELS,
  warpGray,
} from "../face/cnn_detector.ts";
import { saveCnnDetector } from "../face/cnn_detector_io.ts";
import { shrinkByFactor } from "../face/detect.ts";
import { FusedAdamOptimizer } from "../kernels/fused_adam.ts";
import { cosineLr, prepareData } from "./train_io.ts";

/** Longest side a training photo is kept at (the network sees 128; zooming in needs up to twice that). */
export const PHOTO_SIDE = 256;

/** Photos of one group (a video's person) per epoch at most. */
export const MAX_PHOTOS_PER_GROUP = 3;

/** One photo with all its annotated faces, shrunk to at most {@link PHOTO_SIDE}. */
export interface DetectorPhoto {
  file: string;
  group: string;
  /** Dataset part (`ytf68`, `afw`, …), for reports. */
  part: string;
  /** The photo, reduced by `factor`. */
  image: RawImage;
  factor: number;
  /** Each face's 68 landmarks in `image`'s pixels. */
  faces: Float32Array[];
}

/** The photo a face file belongs to: `<dir>/<photo>` (the faces of one photo share it). */
export function photoKey(file: string): string {
  return `${dirname(file)}/${_photoOf(basename(file, extname(file)))}`;
}

/**
 * The photos of `ds` (which must carry `sources` with 68 landmarks), faces of one photo together, each read
 * and shrunk by the whole factor that brings its longer side to at most {@link PHOTO_SIDE}.
 *
 * @throws {UsageError} when the dataset has no photos with landmarks.
 */
export async function detectorPhotos(ds: KeypointDataset): Promise<DetectorPhoto[]> {
  if (!ds.sources || ds.sources.some((s) => !s.landmarks68)) {
    throw new UsageError(
      `the face detector trains on photos with 68 landmarks; dataset "${ds.name}" has none ` +
        "(use a 68-landmark folder or a 300-W folder)",
    );
  }
  const byPhoto = new Map<string, { file: string; group: string; part: string; faces: Float32Array[] }>();
  ds.sources.forEach((s, i) => {
    const key = photoKey(s.file);
    const entry = byPhoto.get(key) ??
      { file: s.file, group: ds.groups?.[i] ?? key, part: ds.parts?.[i] ?? ds.name, faces: [] };
    entry.faces.push(s.landmarks68!);
    byPhoto.set(key, entry);
  });
  const photos: DetectorPhoto[] = [];
  for (const { file, group, part, faces } of byPhoto.values()) {
    const gray = await readGray(file);
    const factor = Math.max(1, Math.ceil(Math.max(gray.width, gray.height) / PHOTO_SIDE));
    const image = factor > 1 ? shrinkByFactor(gray, factor) : gray;
    // A reduced pixel u covers photo pixels k·u … k·u + k − 1, so photo x maps to (x − (k − 1)/2)/k.
    const c = (factor - 1) / 2;
    const scaled = faces.map((f) => f.map((v) => (v - c) / factor));
    photos.push({ file, group, part, image, factor, faces: scaled });
  }
  return photos;
}

/** The extent of `points` (`[x0, y0, …]`, NaN pairs skipped) after `m`. */
function extentThrough(points: ArrayLike<number>, m: Affine): FaceExtent {
  const [a, b, c, d, e, f] = m;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let k = 0; k + 1 < points.length; k += 2) {
    const x = points[k], y = points[k + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    const u = a * x + b * y + c, v = d * x + e * y + f;
    x0 = Math.min(x0, u), x1 = Math.max(x1, u), y0 = Math.min(y0, v), y1 = Math.max(y1, v);
  }
  return { x0, y0, x1, y1 };
}

/** Share of training samples seen exactly as at inference (letterboxed, only mirrored and relit). */
const PLAIN_SHARE = 0.25;

/** Share of the other samples zoomed (1–4×) about a random point of the photo rather than about a face. */
const BACKGROUND_SHARE = 0.3;

/**
 * One training sample of `photo`: the network input and its target, written into `input` (128²) and
 * `target` (8·8·6). With a random source, three quarters of the samples are zoomed (0.55–2.2×) about a
 * random face, or (a share of {@link BACKGROUND_SHARE}) 1–4× about a random point, which lands up to a third
 * of the frame from its centre, tilted up to ±30° half the time; every sample is mirrored half the time and
 * relit (contrast, brightness, gamma). Without a random source, the photo as `detectorInput` letterboxes it.
 */
export function detectorSample(
  photo: DetectorPhoto,
  rng: Rng | null,
  input: Float32Array,
  target: Float32Array,
): void {
  const { image } = photo;
  const s = DETECTOR_INPUT / Math.max(image.width, image.height);
  let m: Affine = [s, 0, 0.5 * s - 0.5, 0, s, 0.5 * s - 0.5];
  if (rng && !rng.chance(PLAIN_SHARE)) {
    let px: number, py: number, zoom: number;
    if (rng.chance(BACKGROUND_SHARE)) {
      // Anywhere in the photo, closer: hands, badges and patterns at the size of a face, which the network
      // must learn are not faces (faces that come into view are marked as always).
      px = rng.uniform(0, image.width * s), py = rng.uniform(0, image.height * s);
      zoom = Math.exp(rng.uniform(0, Math.log(4)));
    } else {
      const face = extentThrough(photo.faces[rng.int(photo.faces.length)], m);
      px = (face.x0 + face.x1) / 2, py = (face.y0 + face.y1) / 2;
      zoom = Math.exp(rng.uniform(Math.log(0.55), Math.log(2.2)));
    }
    const t = rng.chance(0.5) ? rng.uniform(-30, 30) * Math.PI / 180 : 0;
    const cos = Math.cos(t) * zoom, sin = Math.sin(t) * zoom;
    const mid = (DETECTOR_INPUT - 1) / 2, reach = DETECTOR_INPUT / 3;
    const qx = mid + rng.uniform(-reach, reach), qy = mid + rng.uniform(-reach, reach);
    // Turn and zoom about (px, py), which lands at (qx, qy).
    const around: Affine = [cos, sin, qx - cos * px - sin * py, -sin, cos, qy + sin * px - cos * py];
    m = composeAffine(around, m);
  }
  if (rng?.chance(0.5)) m = composeAffine([-1, 0, DETECTOR_INPUT - 1, 0, 1, 0], m);
  warpGray(image, m, input, DETECTOR_INPUT);
  if (rng) relight(input, rng);
  encodeTargets(photo.faces.map((f) => extentThrough(f, m)), target);
}

/** Random contrast (0.6–1.4 about the mean), brightness (±0.15) and gamma (0.7–1.4), clipped to [0, 1]. */
function relight(pixels: Float32Array, rng: Rng): void {
  let mean = 0;
  for (const v of pixels) mean += v;
  mean /= pixels.length;
  const contrast = rng.uniform(0.6, 1.4), shift = rng.uniform(-0.15, 0.15);
  const gamma = Math.exp(rng.uniform(Math.log(0.7), Math.log(1.4)));
  for (let i = 0; i < pixels.length; i++) {
    const v = Math.min(1, Math.max(0, (pixels[i] - mean) * contrast + mean + shift));
    pixels[i] = v ** gamma;
  }
}

/** Settings of {@link trainFaceDetector}. */
export interface DetectorTrainConfig {
  epochs: number;
  batchSize: number;
  /** Cosine schedule from `lr` to `minLr`. */
  lr: number;
  minLr: number;
  /** Validation fraction and seed of the split, as in `deno task train` (same values, same split). */
  validation: number;
  seed: number;
  /** Folder the best epoch's detector is written to (atomically, at every improvement). */
  out?: string;
  /** Recorded in the metadata: the command that ran this training. */
  command?: string;
}

/** The defaults: 30 epochs of 32 photos, cosine 2e-3 → 1e-5, 10 % validation, seed 0 (the recipe's split). */
export const DETECTOR_TRAIN_DEFAULTS: Readonly<DetectorTrainConfig> = {
  epochs: 30,
  batchSize: 32,
  lr: 2e-3,
  minLr: 1e-5,
  validation: 0.1,
  seed: 0,
};

/** How well a detector finds the faces of a set of photos. */
export interface DetectionScore {
  photos: number;
  faces: number;
  /** Faces with a detection of IoU ≥ 0.5 with their landmark box. */
  found: number;
  /** Detections that match no annotated face (unannotated faces in a photo count here too). */
  falseBoxes: number;
  /** Mean IoU of the found faces' best detections. */
  meanIou: number;
}

/** One epoch's record. */
export interface DetectorEpoch {
  epoch: number;
  lr: number;
  loss: number;
  validation: DetectionScore;
  seconds: number;
}

/**
 * Scores `detect` (photo → boxes in the photo's pixels) on `photos`: a face is found when a box overlaps
 * its 68-landmark box by IoU ≥ 0.5; each box matches at most one face.
 */
export function scoreDetections(photos: readonly DetectorPhoto[], boxes: readonly Box[][]): DetectionScore {
  let faces = 0, found = 0, falseBoxes = 0, iouSum = 0;
  photos.forEach((p, i) => {
    const used = new Set<number>();
    for (const f of p.faces) {
      faces++;
      const e = extentThrough(f, [1, 0, 0, 0, 1, 0]);
      const truth = { x: e.x0, y: e.y0, width: e.x1 - e.x0, height: e.y1 - e.y0 };
      let best = -1, bestIou = 0.5;
      boxes[i].forEach((b, j) => {
        const o = iou({ ...b, x: b.x - 0.5, y: b.y - 0.5 }, truth);
        if (!used.has(j) && o >= bestIou) best = j, bestIou = o;
      });
      if (best >= 0) used.add(best), found++, iouSum += bestIou;
    }
    falseBoxes += boxes[i].length - used.size;
  });
  return { photos: photos.length, faces, found, falseBoxes, meanIou: found > 0 ? iouSum / found : NaN };
}

/**
 * Detections of `model` on `photos` (their shrunk images), in those images' pixels, found as the shipped
 * detector finds them (`cnnDetector` with its defaults: the second look, no tiles).
 */
export function detectPhotos(
  model: tf.LayersModel,
  photos: readonly DetectorPhoto[],
  threshold = DEFAULT_DETECTOR_THRESHOLD,
): Box[][] {
  // Not closed: closing would dispose the network that training goes on with.
  const detector = cnnDetector(model, { threshold });
  return photos.map((p) => detector.detect(p.image));
}

/** What {@link trainFaceDetector} returns. */
export interface DetectorTrainResult {
  /** The last epoch's network (the best epoch's is the one saved in `out`). */
  model: tf.LayersModel;
  history: DetectorEpoch[];
  bestEpoch: number;
  trainPhotos: number;
  validationPhotos: number;
}

/**
 * Trains a fresh detector on the training split of `ds` and keeps the epoch that finds the most validation
 * faces (ties: fewer false boxes; without validation photos, the last); with `out`, that epoch is saved
 * there whenever it improves.
 * `onEpoch` is told each epoch's record.
 *
 * @throws {UsageError} for bad settings or a dataset without photos.
 */
export async function trainFaceDetector(
  ds: KeypointDataset,
  config: Partial<DetectorTrainConfig> = {},
  onEpoch?: (record: DetectorEpoch) => void,
): Promise<DetectorTrainResult> {
  const cfg = { ...DETECTOR_TRAIN_DEFAULTS, ...config };
  if (!(Number.isInteger(cfg.epochs) && cfg.epochs >= 1)) throw new UsageError(`epochs must be ≥ 1`);
  if (!(Number.isInteger(cfg.batchSize) && cfg.batchSize >= 1)) {
    throw new UsageError(`batch size must be ≥ 1`);
  }
  const sets = prepareData(ds, { validation: cfg.validation, seed: cfg.seed, completeOnly: false });
  const train = await detectorPhotos(sets.train);
  const validation = sets.validation.n > 0 ? await detectorPhotos(sets.validation) : [];
  const model = createFaceGridModel({ seed: cfg.seed });
  const optimizer = new FusedAdamOptimizer(cfg.lr);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const history: DetectorEpoch[] = [];
  let best: { found: number; falseBoxes: number } | null = null, bestEpoch = 0;
  const side = DETECTOR_INPUT * DETECTOR_INPUT, cells = DETECTOR_GRID * DETECTOR_GRID * TARGET_CHANNELS;
  for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    const start = performance.now();
    const rng = new Rng((cfg.seed * 1_000_003 + epoch * 7_919) | 0);
    const lr = cosineLr({ lr: cfg.lr, minLr: cfg.minLr, epochs: cfg.epochs }, epoch);
    (optimizer as unknown as { learningRate: number }).learningRate = lr;
    const order = epochPhotos(train, rng);
    let lossSum = 0, batches = 0;
    for (let b = 0; b < order.length; b += cfg.batchSize) {
      const idx = order.slice(b, b + cfg.batchSize);
      const x = new Float32Array(idx.length * side), t = new Float32Array(idx.length * cells);
      idx.forEach((p, i) =>
        detectorSample(
          train[p],
          rng,
          x.subarray(i * side, (i + 1) * side),
          t.subarray(i * cells, (i + 1) * cells),
        )
      );
      const xs = tf.tensor4d(x, [idx.length, DETECTOR_INPUT, DETECTOR_INPUT, 1]);
      const ts = tf.tensor4d(t, [idx.length, DETECTOR_GRID, DETECTOR_GRID, TARGET_CHANNELS]);
      const loss = optimizer.minimize(
        () => detectorLoss(model.apply(xs, { training: true }) as tf.Tensor4D, ts),
        true,
        vars,
      )!;
      const value = loss.dataSync()[0];
      tf.dispose([xs, ts, loss]);
      if (!Number.isFinite(value)) {
        throw new Error(`detector training diverged at epoch ${epoch} (loss ${value})`);
      }
      lossSum += value, batches++;
    }
    const score = scoreDetections(validation, detectPhotos(model, validation));
    const record = {
      epoch,
      lr,
      loss: lossSum / batches,
      validation: score,
      seconds: (performance.now() - start) / 1000,
    };
    history.push(record);
    onEpoch?.(record);
    // Without validation photos the last epoch is kept.
    if (
      !best || validation.length === 0 || score.found > best.found ||
      (score.found === best.found && score.falseBoxes < best.falseBoxes)
    ) {
      best = score, bestEpoch = epoch;
      if (cfg.out) {
        await saveCnnDetector(cfg.out, model, {
          threshold: DEFAULT_DETECTOR_THRESHOLD,
          training: {
            command: cfg.command,
            data: sets.train.name,
            config: cfg,
            photos: { train: train.length, validation: validation.length },
            epoch,
            validation: score,
            seconds: history.reduce((s, h) => s + h.seconds, 0),
          },
        }, { extra: { "history.json": JSON.stringify(history, null, 2) + "\n" } });
      }
    }
  }
  return { model, history, bestEpoch, trainPhotos: train.length, validationPhotos: validation.length };
}

/** This epoch's photos in random order, at most {@link MAX_PHOTOS_PER_GROUP} of each group. */
function epochPhotos(photos: readonly DetectorPhoto[], rng: Rng): number[] {
  const taken = new Map<string, number>();
  const order = rng.shuffle(photos.map((_, i) => i));
  return order.filter((i) => {
    const n = taken.get(photos[i].group) ?? 0;
    taken.set(photos[i].group, n + 1);
    return n < MAX_PHOTOS_PER_GROUP;
  });
}
