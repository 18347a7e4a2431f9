/**
 * The metrics the field reports for facial keypoints, computed in pixels of the 96×96 face:
 * RMSE over present coordinates (Kaggle's metric), per-keypoint RMSE, NME (mean point error divided by
 * the distance between the outer eye corners) and PCK at 0.05 and 0.1 of that distance; plus horizontal
 * flip test-time augmentation and a markdown comparison table.
 *
 * @module
 */
import { DataError, UsageError } from "../core/errors.ts";
import {
  IMAGE_SIZE,
  KEYPOINT_NAMES,
  NUM_COORDS,
  NUM_KEYPOINTS,
  OUTER_EYE_CORNERS,
  PIXELS,
} from "../core/constants.ts";
import { flipImages } from "../core/flip.ts";
import { conventionForPart, mirroredBack } from "../models/calibration.ts";
import { type KeypointModel, withConvention } from "../models/keypoint_model.ts";
import type { KeypointPredictor } from "../models/types.ts";
import { flipPairMean, keypointsInsideCrop, medianOf } from "../face/framing.ts";
import { scaleMatrix, warpAffine } from "../augment/augment.ts";

/** Metrics of one set of predictions. NaN (JSON `null`) where nothing could be measured. */
export interface Metrics {
  /** Number of faces. */
  n: number;
  /** Root mean squared error over all present coordinates, in pixels (the Kaggle metric). */
  rmse_px: number;
  /** Mean over faces of (mean point error / outer-eye-corner distance); faces lacking a corner are skipped. */
  nme: number;
  /** Fraction of present points within 0.05 × the outer-eye-corner distance (same faces as NME). */
  pck_05: number;
  /** Fraction of present points within 0.1 × the outer-eye-corner distance. */
  pck_10: number;
  /** Share of the faces with an NME above 0.10 (the failure rate of the 300-W benchmarks). */
  failure_rate_10: number;
  /** RMSE over the present x and y coordinates of each keypoint, in pixels. */
  per_keypoint_rmse_px: Record<string, number>;
}

/**
 * Compares predictions with ground truth, both `n × 30` pixel coordinates in Kaggle column order; NaN in
 * `truth` marks a missing coordinate, which is left out of every metric. A NaN prediction where the truth
 * is present is an error (never a silently smaller mean).
 *
 * @example
 * ```ts
 * import { loadKeypointModel } from "../models/folder_io.ts";
 * import { loadDataset } from "../data/spec_io.ts";
 * const predictor = await loadKeypointModel("outputs/models/default");
 * const ds = await loadDataset("synthetic:100");
 * const m = evaluate(await predictor.predict(ds.images, ds.n), ds.keypoints);
 * console.log(m.rmse_px.toFixed(2), m.nme);
 * ```
 */
export function evaluate(pred: Float32Array, truth: Float32Array): Metrics {
  if (truth.length % NUM_COORDS !== 0 || pred.length !== truth.length) {
    throw new UsageError(
      `evaluate: expected n × ${NUM_COORDS} predictions and truths of equal length, got ${pred.length} and ${truth.length}`,
    );
  }
  const n = truth.length / NUM_COORDS;
  const sq = new Float64Array(NUM_KEYPOINTS);
  const count = new Float64Array(NUM_KEYPOINTS);
  let nmeSum = 0, nmeFaces = 0, failures = 0, points = 0, within05 = 0, within10 = 0;
  for (let f = 0; f < n; f++) {
    const o = f * NUM_COORDS;
    for (let c = 0; c < NUM_COORDS; c++) {
      const t = truth[o + c];
      if (Number.isNaN(t)) continue;
      const p = pred[o + c];
      if (!Number.isFinite(p)) {
        throw new DataError(
          `evaluate: prediction ${p} for face ${f}, coordinate ${c} where the truth is ${t}`,
        );
      }
      sq[c >> 1] += (p - t) ** 2;
      count[c >> 1]++;
    }
    const [r, l] = OUTER_EYE_CORNERS;
    const d = Math.hypot(truth[o + 2 * l] - truth[o + 2 * r], truth[o + 2 * l + 1] - truth[o + 2 * r + 1]);
    if (!(d > 0)) continue; // NaN (a corner missing) or coincident corners: no normaliser
    let errSum = 0, k = 0;
    for (let j = 0; j < NUM_KEYPOINTS; j++) {
      const tx = truth[o + 2 * j], ty = truth[o + 2 * j + 1];
      if (Number.isNaN(tx) || Number.isNaN(ty)) continue;
      const e = Math.hypot(pred[o + 2 * j] - tx, pred[o + 2 * j + 1] - ty);
      errSum += e;
      k++;
      if (e <= 0.05 * d) within05++;
      if (e <= 0.1 * d) within10++;
    }
    nmeSum += errSum / k / d;
    if (errSum / k / d > 0.1) failures++;
    nmeFaces++;
    points += k;
  }
  const totalSq = sq.reduce((a, b) => a + b, 0), total = count.reduce((a, b) => a + b, 0);
  return {
    n,
    rmse_px: total ? Math.sqrt(totalSq / total) : NaN,
    nme: nmeFaces ? nmeSum / nmeFaces : NaN,
    pck_05: points ? within05 / points : NaN,
    pck_10: points ? within10 / points : NaN,
    failure_rate_10: nmeFaces ? failures / nmeFaces : NaN,
    per_keypoint_rmse_px: Object.fromEntries(
      KEYPOINT_NAMES.map((name, j) => [name, count[j] ? Math.sqrt(sq[j] / count[j]) : NaN]),
    ),
  };
}

/**
 * {@link evaluate} for each part of a dataset made of several (`ds.parts`), keyed by part; undefined when
 * the dataset is one part.
 */
export function metricsByPart(
  pred: Float32Array,
  ds: { n: number; keypoints: Float32Array; parts?: string[] },
): Record<string, Metrics> | undefined {
  if (!ds.parts || new Set(ds.parts).size < 2) return undefined;
  const rows = new Map<string, number[]>();
  ds.parts.forEach((p, i) => rows.set(p, [...(rows.get(p) ?? []), i]));
  const pick = (src: Float32Array, idx: number[]) => {
    const out = new Float32Array(idx.length * NUM_COORDS);
    idx.forEach((i, k) => out.set(src.subarray(i * NUM_COORDS, (i + 1) * NUM_COORDS), k * NUM_COORDS));
    return out;
  };
  return Object.fromEntries(
    [...rows].map(([part, idx]) => [part, evaluate(pick(pred, idx), pick(ds.keypoints, idx))]),
  );
}

/**
 * Horizontal-flip test-time augmentation: predicts the faces and their mirror images, maps the mirrored
 * predictions back, and averages the two, unless only one of them lies inside the 96×96 crop: then that one,
 * as `deno task predict` does (`flipPairMean`).
 */
export async function predictWithFlipTta(
  predictor: KeypointPredictor,
  images: Float32Array,
  n: number,
): Promise<Float32Array> {
  const plain = await predictor.predict(images, n);
  const mirrored = mirroredBack(await predictor.predict(flipImages(images, n), n), n, predictor.offsets);
  const out = new Float32Array(plain.length);
  for (let i = 0; i < n; i++) {
    const face = [i * NUM_COORDS, (i + 1) * NUM_COORDS] as const;
    out.set(flipPairMean(plain.subarray(...face), mirrored.subarray(...face), WHOLE_CROP), face[0]);
  }
  return out;
}

/**
 * Scale test-time augmentation on 96×96 crops, as `deno task predict`'s on photos (`PredictOptions.scales`):
 * each face predicted again on its crop scaled by each factor about its centre (resampled from the crop,
 * edges replicated), mapped back; its points become the coordinate-wise median of the first prediction and
 * the new ones that lie inside their crops. `predict` predicts one set of faces (flip TTA or plain).
 */
export async function predictWithScaleTta(
  predict: (images: Float32Array, n: number) => Promise<Float32Array>,
  images: Float32Array,
  n: number,
  scales: readonly number[],
): Promise<Float32Array> {
  for (const f of scales) {
    if (!(f >= 0.5 && f <= 2)) throw new UsageError(`a scale of the crop must be in [0.5, 2], got ${f}`);
  }
  const first = await predict(images, n);
  if (scales.length === 0) return first;
  const centre = (IMAGE_SIZE - 1) / 2;
  // votes[i]: face i's predictions on its scaled crops that lie inside them, mapped back to its crop.
  const votes: Float32Array[][] = Array.from({ length: n }, () => []);
  for (const f of scales) {
    // A crop f times the side shows the face 1/f times as large.
    const scaled = new Float32Array(n * PIXELS);
    for (let i = 0; i < n; i++) {
      const face = [i * PIXELS, (i + 1) * PIXELS] as const;
      warpAffine(images.subarray(...face), scaled.subarray(...face), scaleMatrix(1 / f), "edge");
    }
    const p = await predict(scaled, n);
    for (let i = 0; i < n; i++) {
      const face = p.subarray(i * NUM_COORDS, (i + 1) * NUM_COORDS);
      if (keypointsInsideCrop(face, WHOLE_CROP)) votes[i].push(face.map((v) => centre + (v - centre) * f));
    }
  }
  const out = new Float32Array(n * NUM_COORDS);
  for (let i = 0; i < n; i++) {
    out.set(medianOf([first.subarray(i * NUM_COORDS, (i + 1) * NUM_COORDS), ...votes[i]]), i * NUM_COORDS);
  }
  return out;
}

/**
 * Predicts each part's faces in the annotation convention it is scored with (`conventionForPart`: the
 * part's own where the model's calibration has one, else its default; `convention` forces one), with flip
 * test-time augmentation unless `flip` is false and scale test-time augmentation with `scales`
 * ({@link predictWithScaleTta}). `parts[i]` names face i's part (`facePartNames`). Returns
 * the predictions and, per part, the convention used.
 */
export async function predictByConvention(
  model: KeypointModel,
  images: Float32Array,
  parts: readonly string[],
  opts: { flip?: boolean; scales?: readonly number[]; convention?: string } = {},
): Promise<{ pred: Float32Array; conventions: Record<string, string> }> {
  const n = parts.length;
  const pred = new Float32Array(n * NUM_COORDS);
  const conventions: Record<string, string> = {};
  for (const part of new Set(parts)) {
    const idx = parts.flatMap((p, i) => p === part ? [i] : []);
    const name = conventions[part] = conventionForPart(model.metadata.calibration, part, opts.convention);
    const predictor = withConvention(model, name);
    const faces = new Float32Array(idx.length * PIXELS);
    idx.forEach((i, k) => faces.set(images.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS));
    const once = (images: Float32Array, n: number) =>
      opts.flip === false ? predictor.predict(images, n) : predictWithFlipTta(predictor, images, n);
    const out = await predictWithScaleTta(once, faces, idx.length, opts.scales ?? []);
    idx.forEach((i, k) => pred.set(out.subarray(k * NUM_COORDS, (k + 1) * NUM_COORDS), i * NUM_COORDS));
  }
  return { pred, conventions };
}

/**
 * One line saying which annotation convention each part was predicted in (`predictByConvention`), e.g.
 * `annotation conventions (deno task calibrate): ytf68 → ytf68, lfpw_testset → 300w`.
 */
export function conventionsLine(conventions: Record<string, string>): string {
  const items = Object.entries(conventions).map(([part, name]) => `${part} → ${name}`);
  return `annotation conventions (deno task calibrate): ${items.join(", ")}`;
}

/** The 96×96 input itself as a crop, for `flipPairMean`. */
const WHOLE_CROP = { x: 0, y: 0, size: IMAGE_SIZE };

const fmt = (v: number, digits: number) => Number.isFinite(v) ? v.toFixed(digits) : "–";

/**
 * A markdown table comparing several models' metrics, one row each.
 *
 * @example
 * ```ts
 * import { syntheticDataset } from "../data/synthetic.ts";
 * const ds = syntheticDataset({ n: 10, missingRate: 0 });
 * const exact = evaluate(ds.keypoints, ds.keypoints);
 * const shifted = evaluate(ds.keypoints.map((v) => v + 1), ds.keypoints);
 * console.log(comparisonTable([{ name: "exact", metrics: exact }, { name: "shifted", metrics: shifted }]));
 * ```
 */
export function comparisonTable(results: { name: string; metrics: Metrics }[]): string {
  const lines = [
    "| model | faces | RMSE (px) | NME | PCK@0.05 | PCK@0.1 |",
    "|---|---:|---:|---:|---:|---:|",
    ...results.map(({ name, metrics: m }) =>
      `| ${name} | ${m.n} | ${fmt(m.rmse_px, 3)} | ${fmt(m.nme, 4)} | ${fmt(m.pck_05, 3)} | ${
        fmt(m.pck_10, 3)
      } |`
    ),
  ];
  return lines.join("\n");
}

/** A markdown table of per-keypoint RMSE (px), one column per model. */
export function perKeypointTable(results: { name: string; metrics: Metrics }[]): string {
  const lines = [
    `| keypoint | ${results.map((r) => r.name).join(" | ")} |`,
    `|---|${results.map(() => "---:").join("|")}|`,
    ...KEYPOINT_NAMES.map((k) =>
      `| ${k} | ${results.map((r) => fmt(r.metrics.per_keypoint_rmse_px[k], 3)).join(" | ")} |`
    ),
  ];
  return lines.join("\n");
}
