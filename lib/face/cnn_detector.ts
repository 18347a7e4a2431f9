/**
 * The project's own face detector, a small convolutional network trained with `deno task train-detector` on
 * the same photos as the keypoint models: where Haar cascades miss faces that tilt, turn or are cut by the
 * frame, a network that has seen such faces finds them, and it answers with the box of the 68 landmarks, so
 * a crop framed from it is framed like a training crop.
 *
 * Design (CenterNet, Zhou et al. 2019, "Objects as Points", on one coarse grid): the photo is shrunk so its
 * longer side is {@link DETECTOR_INPUT} pixels (letterboxed, grey outside); a plain stack of 3×3
 * convolutions with batch normalisation reduces it to a {@link DETECTOR_GRID}² grid of cells of
 * {@link DETECTOR_STRIDE} pixels. Each cell predicts a face-centre score (trained with CenterNet's
 * penalty-reduced focal loss on a Gaussian around each centre), the centre's offset inside the cell and the
 * log of the box's width and height. A face is a cell whose score is above the threshold and highest among
 * its 8 neighbours.
 *
 * Pure code: the model is tfjs, the rest arithmetic; runs in a browser as well (reading and writing model
 * folders is in `cnn_detector_io.ts`, training in `train/detector_train_io.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Box, iou, overlapOfSmaller } from "../core/box.ts";
import { UsageError } from "../core/errors.ts";
import type { RawImage } from "../core/image.ts";
import { type Affine, invertAffine } from "../augment/augment.ts";
import { SeededInit } from "../models/init.ts";
import { DETECTION_DEFAULTS, type FaceDetector, shrinkByFactor } from "./detect.ts";

/** Side of the square network input in pixels. */
export const DETECTOR_INPUT = 128;
/** Pixels per grid cell. */
export const DETECTOR_STRIDE = 16;
/** Cells per side of the output grid. */
export const DETECTOR_GRID = DETECTOR_INPUT / DETECTOR_STRIDE;
/** Numbers per cell in the output: score logit, centre offset x and y (cells), log width and height (cells). */
export const DETECTOR_OUTPUTS = 5;
/** Numbers per cell in a training target: heat, offset x, y, log w, h, and 1 at a face's centre cell. */
export const TARGET_CHANNELS = 6;
/** Grey of the letterbox and of what augmentation turns into the frame. */
export const FILL_GREY = 0.5;

/** Channels of the convolutions, and which of them halve the resolution. */
const LAYERS: readonly { filters: number; stride: number }[] = [
  { filters: 16, stride: 2 },
  { filters: 32, stride: 2 },
  { filters: 32, stride: 1 },
  { filters: 64, stride: 2 },
  { filters: 64, stride: 1 },
  { filters: 128, stride: 2 },
  { filters: 128, stride: 1 },
  { filters: 128, stride: 1 },
  { filters: 128, stride: 1 },
];

/** Parameter count of {@link createFaceGridModel} (BN moving statistics included; a test checks it). */
export const FACE_GRID_PARAMS = 588_885;

/** The initial score bias: a prior of 1 % face centres, as in CenterNet, so training starts stable. */
const SCORE_PRIOR_BIAS = -Math.log((1 - 0.01) / 0.01);

/**
 * The detector network: input `[null, 128, 128, 1]` pixels in [0, 1], output `[null, 8, 8, 5]`.
 *
 * @example
 * ```ts
 * const model = createFaceGridModel({ seed: 0 });
 * model.outputs[0].shape; // [null, 8, 8, 5]
 * ```
 */
export function createFaceGridModel(config: { seed?: number } = {}): tf.LayersModel {
  const init = new SeededInit(config.seed);
  const input = tf.input({ shape: [DETECTOR_INPUT, DETECTOR_INPUT, 1], name: "photo" });
  let x: tf.SymbolicTensor = input;
  LAYERS.forEach(({ filters, stride }, i) => {
    x = tf.layers.conv2d({
      name: `conv${i + 1}`,
      filters,
      kernelSize: 3,
      strides: stride,
      padding: "same",
      useBias: false,
      kernelInitializer: init.he(),
    }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ name: `bn${i + 1}`, axis: 3 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU({ name: `relu${i + 1}` }).apply(x) as tf.SymbolicTensor;
  });
  const head = tf.layers.conv2d({
    name: "head",
    filters: DETECTOR_OUTPUTS,
    kernelSize: 1,
    kernelInitializer: init.glorot(),
    biasInitializer: tf.initializers.constant({ value: 0 }),
  }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: head, name: "face-grid" });
  // The score channel starts at the prior; the regression channels at 0 (offset ½ is learnt in a few steps).
  const headLayer = model.getLayer("head");
  const [kernel, bias] = headLayer.getWeights();
  const b = bias.arraySync() as number[];
  b[0] = SCORE_PRIOR_BIAS;
  const start = tf.tensor1d(b);
  headLayer.setWeights([kernel, start]); // copies into the layer's variable
  start.dispose();
  return model;
}

// ---------------------------------------------------------------------------------------------------------
// Photo → network input
// ---------------------------------------------------------------------------------------------------------

/**
 * A photo as the network sees it: `input` (128×128 pixels in [0, 1]) and the map from photo pixels to input
 * pixels (pixel-centre convention), whose inverse takes detections back to the photo.
 */
export interface DetectorInput {
  input: Float32Array;
  toInput: Affine;
}

/** A square part of a photo: top-left corner and side in photo pixels (it may reach past the photo). */
export interface Region {
  x: number;
  y: number;
  size: number;
}

/**
 * Letterboxes a grey photo, or the square `region` of it: shrunk by a whole factor with block means (so
 * nothing aliases), then resampled bilinearly so that the square's side is 128 pixels; the photo's top-left
 * corner (or the region's) at the input's, {@link FILL_GREY} outside the photo. `shrunk` keeps the reduced
 * photos between calls on the same photo (see {@link warpGray}).
 */
export function detectorInput(
  gray: RawImage,
  region?: Region,
  shrunk?: Map<number, RawImage>,
): DetectorInput {
  if (gray.width < 1 || gray.height < 1) throw new UsageError("detectorInput: empty image");
  const { x, y, size } = region ?? { x: 0, y: 0, size: Math.max(gray.width, gray.height) };
  const s = DETECTOR_INPUT / size;
  // Pixel-centre map: photo pixel p lands at s·(p − x + 0.5) − 0.5.
  const toInput: Affine = [s, 0, s * (0.5 - x) - 0.5, 0, s, s * (0.5 - y) - 0.5];
  const input = new Float32Array(DETECTOR_INPUT * DETECTOR_INPUT);
  warpGray(gray, toInput, input, DETECTOR_INPUT, shrunk);
  return { input, toInput };
}

/** Smallest tile side in photo pixels: below it a tile would only enlarge pixels the whole photo shows. */
const MIN_TILE = 64;

/**
 * The overlapping square tiles that let the network see small faces larger: `grid` tiles across the longer
 * side, each 2/(grid + 1) of it, a step of 1/(grid + 1) (so neighbours overlap by half a tile), as many
 * along the shorter side as cover it. A face smaller than half a tile lies wholly inside one of them.
 * `[]` for `grid` ≤ 1 or tiles smaller than 64 pixels.
 */
export function detectorTiles(width: number, height: number, grid: number): Region[] {
  if (grid <= 1) return [];
  const longer = Math.max(width, height);
  const size = Math.round(2 * longer / (grid + 1)), step = longer / (grid + 1);
  if (size < MIN_TILE) return [];
  const starts = (length: number) => {
    if (length <= size) return [0];
    const n = Math.ceil((length - size) / step) + 1;
    return Array.from({ length: n }, (_, i) => Math.round(i * (length - size) / (n - 1)));
  };
  return starts(height).flatMap((y) => starts(width).map((x) => ({ x, y, size })));
}

/**
 * Writes `size × size` pixels of `dst` (values in [0, 1]) as `src` seen through `forward` (source pixels →
 * destination pixels), bilinear, {@link FILL_GREY} outside `src`. Where `forward` shrinks by 2 or more, `src`
 * is first reduced by that whole factor with block means (kept in `shrunk`, when given, for the next call on
 * the same photo).
 */
export function warpGray(
  src: RawImage,
  forward: Affine,
  dst: Float32Array,
  size: number,
  shrunk?: Map<number, RawImage>,
): void {
  const shrink = Math.floor(1 / Math.sqrt(Math.abs(forward[0] * forward[4] - forward[1] * forward[3])));
  let image = src, m = forward;
  if (shrink >= 2) {
    image = shrunk?.get(shrink) ?? shrinkByFactor(src, shrink);
    shrunk?.set(shrink, image);
    // A reduced pixel u covers source pixels k·u … k·u + k − 1: source x = k·u + (k − 1)/2.
    const k = shrink, c = (k - 1) / 2;
    const [a, b, e, d, f, g] = forward;
    m = [a * k, b * k, a * c + b * c + e, d * k, f * k, d * c + f * c + g];
  }
  const [ia, ib, ic, id, ie, iff] = invertAffine(m);
  const { width, height, data } = image, lastX = width - 1, lastY = height - 1;
  const at = (x: number, y: number) =>
    x < 0 || y < 0 || x > lastX || y > lastY ? FILL_GREY : data[y * width + x] / 255;
  for (let v = 0; v < size; v++) {
    let sx = ib * v + ic, sy = ie * v + iff;
    for (let u = 0; u < size; u++, sx += ia, sy += id) {
      const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
      let value: number;
      if (x0 >= 0 && y0 >= 0 && x0 < lastX && y0 < lastY) {
        const i = y0 * width + x0;
        const top = data[i] + fx * (data[i + 1] - data[i]);
        const bottom = data[i + width] + fx * (data[i + width + 1] - data[i + width]);
        value = (top + fy * (bottom - top)) / 255;
      } else if (x0 < -1 || y0 < -1 || x0 > lastX || y0 > lastY) {
        value = FILL_GREY;
      } else {
        const top = at(x0, y0) + fx * (at(x0 + 1, y0) - at(x0, y0));
        const bottom = at(x0, y0 + 1) + fx * (at(x0 + 1, y0 + 1) - at(x0, y0 + 1));
        value = top + fy * (bottom - top);
      }
      dst[v * size + u] = value;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Targets and loss
// ---------------------------------------------------------------------------------------------------------

/** A face box in continuous coordinates of the network input: `x0 … x1`, `y0 … y1` (pixel-centre). */
export interface FaceExtent {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Smallest face side (input pixels) the targets mark; smaller ones are left as background. */
export const MIN_TARGET_SIDE = 8;

/**
 * The training target of one input (`8 × 8 × 6`, see {@link TARGET_CHANNELS}) for the faces `extents`:
 * a Gaussian of score around each face's centre cell (σ = max(0.5, 0.15 × the face's side in cells),
 * 1 at the centre), and the centre offset and log size at the centre cell. Faces whose centre is outside the
 * input, or smaller than {@link MIN_TARGET_SIDE}, are not marked.
 */
export function encodeTargets(extents: readonly FaceExtent[], out?: Float32Array): Float32Array {
  const g = DETECTOR_GRID, c = TARGET_CHANNELS;
  const t = out ?? new Float32Array(g * g * c);
  t.fill(0);
  for (const e of extents) {
    const w = e.x1 - e.x0, h = e.y1 - e.y0;
    if (Math.max(w, h) < MIN_TARGET_SIDE) continue;
    // In cells: pixel p covers p − 0.5 … p + 0.5, cell j covers pixels 16j … 16j + 15.
    const cx = ((e.x0 + e.x1) / 2 + 0.5) / DETECTOR_STRIDE, cy = ((e.y0 + e.y1) / 2 + 0.5) / DETECTOR_STRIDE;
    const j = Math.floor(cx), i = Math.floor(cy);
    if (i < 0 || j < 0 || i >= g || j >= g) continue;
    const sigma = Math.max(0.5, 0.15 * Math.max(w, h) / DETECTOR_STRIDE);
    for (let y = 0; y < g; y++) {
      for (let x = 0; x < g; x++) {
        const heat = Math.exp(-((x - j) ** 2 + (y - i) ** 2) / (2 * sigma * sigma));
        const o = (y * g + x) * c;
        if (heat > t[o]) t[o] = heat;
      }
    }
    const o = (i * g + j) * c;
    t[o] = 1;
    t[o + 1] = cx - j;
    t[o + 2] = cy - i;
    t[o + 3] = Math.log(Math.max(w, 1) / DETECTOR_STRIDE);
    t[o + 4] = Math.log(Math.max(h, 1) / DETECTOR_STRIDE);
    t[o + 5] = 1;
  }
  return t;
}

/**
 * The detector's loss on a batch, `pred [B, 8, 8, 5]` against `target [B, 8, 8, 6]`: CenterNet's focal
 * loss on the scores (α = 2, β = 4) plus the L1 error of offset and log size at the centre cells, both
 * divided by the number of faces (at least 1).
 */
export function detectorLoss(pred: tf.Tensor4D, target: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const [logit, reg] = tf.split(pred, [1, 4], 3);
    const [heat, regTarget, centre] = tf.split(target, [1, 4, 1], 3);
    const p = tf.sigmoid(logit);
    // log p = −softplus(−x), log(1 − p) = −softplus(x), written with ops whose gradients wasm has.
    const softplus = (x: tf.Tensor) => tf.add(tf.relu(x), tf.log(tf.add(1, tf.exp(tf.neg(tf.abs(x))))));
    const logP = tf.neg(softplus(tf.neg(logit)));
    const log1mP = tf.neg(softplus(logit));
    const pos = tf.mul(tf.mul(tf.square(tf.sub(1, p)), logP), centre);
    const negWeight = tf.mul(tf.square(tf.square(tf.sub(1, heat))), tf.sub(1, centre));
    const neg = tf.mul(tf.mul(tf.square(p), log1mP), negWeight);
    const faces = tf.maximum(tf.sum(centre), 1);
    const focal = tf.div(tf.neg(tf.add(tf.sum(pos), tf.sum(neg))), faces);
    const l1 = tf.div(tf.sum(tf.mul(tf.abs(tf.sub(reg, regTarget)), centre)), faces);
    return tf.add(focal, l1) as tf.Scalar;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Output → faces
// ---------------------------------------------------------------------------------------------------------

/** A face found by the network: its estimated 68-landmark box in photo pixels and its score in (0, 1). */
export interface GridFace extends Box {
  score: number;
}

/**
 * Score a cell needs to be a face, unless the detector's metadata says otherwise: with the shipped network,
 * every one of the 469 validation faces outside AFW that it finds at 0.2 is still found at 0.3, 459 at 0.4;
 * the scores of true and false faces overlap above it (README).
 */
export const DEFAULT_DETECTOR_THRESHOLD = 0.3;

/**
 * The faces of one network output (`8 × 8 × 5` numbers): cells above `threshold` that are the highest
 * among their 8 neighbours, as boxes in input pixels, highest score first (duplicates across regions and
 * looks are dropped by the detector, `cnnDetector`).
 */
export function decodeFaces(output: ArrayLike<number>, threshold = DEFAULT_DETECTOR_THRESHOLD): GridFace[] {
  const g = DETECTOR_GRID, c = DETECTOR_OUTPUTS;
  const score = (y: number, x: number) => output[(y * g + x) * c];
  const found: GridFace[] = [];
  for (let y = 0; y < g; y++) {
    for (let x = 0; x < g; x++) {
      const s = score(y, x);
      const p = 1 / (1 + Math.exp(-s));
      if (!(p >= threshold)) continue;
      let peak = true;
      for (let dy = -1; dy <= 1 && peak; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy, xx = x + dx;
          if ((dy || dx) && yy >= 0 && xx >= 0 && yy < g && xx < g && score(yy, xx) > s) peak = false;
        }
      }
      if (!peak) continue;
      const o = (y * g + x) * c;
      const cx = (x + output[o + 1]) * DETECTOR_STRIDE - 0.5,
        cy = (y + output[o + 2]) * DETECTOR_STRIDE - 0.5;
      const w = Math.exp(output[o + 3]) * DETECTOR_STRIDE, h = Math.exp(output[o + 4]) * DETECTOR_STRIDE;
      // As a Box: pixel x covers x − 0.5 … x + 0.5, so the extent cx ± w/2 starts at pixel cx − w/2 + 0.5.
      found.push({ x: cx - w / 2 + 0.5, y: cy - h / 2 + 0.5, width: w, height: h, score: p });
    }
  }
  return found.sort((a, b) => b.score - a.score);
}

/** `face` (a box in input pixels) mapped back to the photo through the inverse of `toInput`, whole pixels. */
export function toPhoto(face: GridFace, toInput: Affine): GridFace {
  const [a, , c, , e, f] = invertAffine(toInput);
  const x0 = a * (face.x - 0.5) + c, y0 = e * (face.y - 0.5) + f;
  const width = Math.max(1, Math.round(a * face.width)), height = Math.max(1, Math.round(e * face.height));
  return { x: Math.round(x0 + 0.5), y: Math.round(y0 + 0.5), width, height, score: face.score };
}

/** A face of the CNN detector: the estimated 68-landmark box, its score, and where it came from. */
export interface CnnFace extends GridFace {
  source: "cnn";
}

/** A {@link FaceDetector} backed by the network; `detect` answers {@link CnnFace}s, best first. */
export interface CnnDetector extends FaceDetector {
  detect(gray: RawImage): CnnFace[];
  /** The score threshold, tiles per side and second look in use. */
  readonly threshold: number;
  readonly tiles: number;
  readonly zoom: boolean;
}

/** Settings of {@link cnnDetector}. */
export interface CnnDetectorOptions {
  /** Score a face needs (default {@link DEFAULT_DETECTOR_THRESHOLD}). */
  threshold?: number;
  /** Tiles across the photo's longer side searched besides the whole photo (see {@link detectorTiles}); default {@link DEFAULT_TILES}. */
  tiles?: number;
  /**
   * Look at each face found again, in a square of {@link ZOOM_CONTEXT} times its side (so it fills the
   * input as the training faces do), keep the box found there and drop the face if none is (default true).
   */
  zoom?: boolean;
}

/**
 * Side of the second look's square ÷ the face's side: the training faces' landmark boxes span about 0.3–0.4
 * of their photos' longer side (ytf68 0.38, HELEN 0.36, LFPW 0.29, medians).
 */
export const ZOOM_CONTEXT = 2.5;

/**
 * Tiles per side by default: none. Tiles find the small faces of group photos (AFW detection 41 % → 89 %
 * with 3) but add false faces (0.44 per one-face ytf68 frame with 3); `predict`'s default adds the frontal
 * cascade's faces instead, which finds those small faces with fewer false ones (README).
 */
export const DEFAULT_TILES = 1;

/**
 * A {@link CnnDetector} over an already built network: the whole photo and its tiles in one batch, each
 * tile's faces kept only where they lie inside it (a face its edge cuts is another tile's or the whole
 * photo's), faces overlapping a better one dropped, then (with `zoom`) each face looked at again at the
 * scale the network was trained on.
 */
export function cnnDetector(model: tf.LayersModel, opts: CnnDetectorOptions = {}): CnnDetector {
  const threshold = opts.threshold ?? DEFAULT_DETECTOR_THRESHOLD, grid = opts.tiles ?? DEFAULT_TILES;
  const zoom = opts.zoom ?? true;
  return {
    threshold,
    tiles: grid,
    zoom,
    // The Haar settings do not apply; reported as the defaults so that callers printing them still can.
    options: { cascadePath: "", ...DETECTION_DEFAULTS },
    detect(gray: RawImage): CnnFace[] {
      const regions: (Region | undefined)[] = [undefined, ...detectorTiles(gray.width, gray.height, grid)];
      const shrunk = new Map<number, RawImage>(); // the photo reduced once per factor, for every look
      const found: GridFace[] = [];
      run(model, gray, regions, threshold, shrunk).forEach((faces, i) => {
        const r = regions[i];
        for (const face of faces) if (!r || insideTile(face, r, gray)) found.push(face);
      });
      const candidates = dropInner(found);
      if (!zoom) return candidates.map((f) => ({ ...f, source: "cnn" as const }));
      // Each candidate looked at again where it fills the input as a training face does: better framed, and
      // dropped when no face is there at that scale.
      const views = candidates.map((f) => {
        const side = ZOOM_CONTEXT * Math.max(f.width, f.height);
        return { x: f.x + f.width / 2 - side / 2, y: f.y + f.height / 2 - side / 2, size: side };
      });
      const again = run(model, gray, views, threshold, shrunk);
      const kept: GridFace[] = [];
      candidates.forEach((f, i) => {
        const centre = (b: Box) => [b.x + b.width / 2, b.y + b.height / 2];
        const [cx, cy] = centre(f);
        let best: GridFace | undefined, bestDistance = Infinity;
        for (const g of again[i]) {
          const [gx, gy] = centre(g);
          const d = Math.hypot(gx - cx, gy - cy);
          if (d < bestDistance && d < 0.5 * Math.max(f.width, f.height)) best = g, bestDistance = d;
        }
        if (best) kept.push(best);
      });
      return dropInner(kept).map((f) => ({ ...f, source: "cnn" as const }));
    },
    close() {
      model.dispose();
    },
  };
}

/** The network's faces in each region of `gray` (undefined: the whole photo), in photo pixels, one batch. */
function run(
  model: tf.LayersModel,
  gray: RawImage,
  regions: readonly (Region | undefined)[],
  threshold: number,
  shrunk: Map<number, RawImage>,
): GridFace[][] {
  if (regions.length === 0) return [];
  const inputs = regions.map((r) => detectorInput(gray, r, shrunk));
  const side = DETECTOR_INPUT * DETECTOR_INPUT, x = new Float32Array(inputs.length * side);
  inputs.forEach((d, i) => x.set(d.input, i * side));
  const out = tf.tidy(() => {
    const batch = tf.tensor4d(x, [inputs.length, DETECTOR_INPUT, DETECTOR_INPUT, 1]);
    return (model.predict(batch) as tf.Tensor).dataSync();
  });
  const cell = out.length / inputs.length;
  return inputs.map((d, i) =>
    decodeFaces(out.subarray(i * cell, (i + 1) * cell), threshold).map((f) => toPhoto(f, d.toInput))
  );
}

/**
 * Best first, without the faces that overlap a better one by more than 0.4 IoU or lie more than half inside
 * it (a part of a face seen in a tile: an eye, half a face).
 */
function dropInner(faces: readonly GridFace[]): GridFace[] {
  const kept: GridFace[] = [];
  for (const f of [...faces].sort((a, b) => b.score - a.score)) {
    if (kept.every((k) => iou(k, f) <= 0.4 && overlapOfSmaller(k, f) <= 0.5)) kept.push(f);
  }
  return kept;
}

/** Whether `face` lies inside `tile` (10 % of its side may stick out), an edge the photo's own excepted. */
function insideTile(face: Box, tile: Region, photo: RawImage): boolean {
  const slack = 0.1 * Math.max(face.width, face.height);
  const left = tile.x <= 0 || face.x >= tile.x - slack;
  const top = tile.y <= 0 || face.y >= tile.y - slack;
  const right = tile.x + tile.size >= photo.width || face.x + face.width <= tile.x + tile.size + slack;
  const bottom = tile.y + tile.size >= photo.height || face.y + face.height <= tile.y + tile.size + slack;
  return left && top && right && bottom;
}
