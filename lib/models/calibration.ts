/**
 * Annotation conventions: the mean offset, per keypoint coordinate, between a trained model's predictions
 * and the labels of one dataset, measured on that dataset's training faces and added to the model's
 * output, so that it predicts where that dataset's annotators put the points.
 *
 * Why a trained model needs it: flip augmentation and flip test-time augmentation make a model
 * mirror-symmetric, so a horizontal shift that a dataset's labels have and its mirror image has not cannot
 * be learnt. Measured on the bundled model (README, "Annotation conventions"): ytf68's labels sit 0.8 px of
 * the 96-px crop to the right of where the model puts them, on its training and its held-out faces alike,
 * while 300-W's sit 0.2 px; the training faces' mean offsets took the held-out ytf68 RMSE from 1.52 to
 * 1.32 px and HELEN's NME from 4.22 to 3.99 % (ground-truth crops, flip TTA). The offsets are measured after training,
 * on the training split only, so the validation faces stay unseen.
 *
 * A model folder's `metadata.json` keeps them under `calibration` (see `deno task calibrate`): one
 * convention per part of the training data (`ytf68`, `afw`, …) and a default used where the data's part is
 * not one of them (`deno task predict` on your photos). Pure TypeScript: the camera page uses it too.
 *
 * @example
 * ```ts
 * import { conventionOffsets, measureConventions } from "./calibration.ts";
 * const truth = new Float32Array(60).fill(50), pred = new Float32Array(60).fill(49);
 * const conventions = measureConventions(pred, truth, ["a", "a"]); // { a: { offsets: [1, 1, …], faces: 2 } }
 * const offsets = conventionOffsets({ conventions: { a: conventions.a.offsets }, default: "a" }); // 30 × 1
 * ```
 *
 * @module
 */
import { FLIP_KEYPOINT_PAIRS, NUM_COORDS } from "../core/constants.ts";
import { DataError, UsageError } from "../core/errors.ts";
import { flipKeypoints } from "../core/flip.ts";

/** What `metadata.json` keeps under `calibration`. */
export interface Calibration {
  /** Per convention name (a part of the training data, or several joined by `+`): 30 offsets in 96-px units. */
  conventions: Record<string, number[]>;
  /** The convention used where the data's part has none of its own. */
  default: string;
  /** How the offsets were measured (training faces per convention, flip, the command), for the record. */
  measured?: Record<string, unknown>;
}

/** The name that turns calibration off (`--convention none`): the network's own output. */
export const NO_CONVENTION = "none";

/**
 * The mean `truth − pred` per coordinate for each group of faces (`groups[i]` names face i's), over the
 * coordinates present in `truth` (NaN skipped); a coordinate no face of the group has gets 0.
 *
 * @throws {UsageError} when the arrays do not hold `groups.length` faces.
 */
export function measureConventions(
  pred: Float32Array,
  truth: Float32Array,
  groups: readonly string[],
): Record<string, { offsets: number[]; faces: number }> {
  const n = groups.length;
  if (pred.length !== n * NUM_COORDS || truth.length !== n * NUM_COORDS) {
    throw new UsageError(
      `measureConventions: ${n} faces need ${
        n * NUM_COORDS
      } coordinates, got ${pred.length} and ${truth.length}`,
    );
  }
  const sums = new Map<string, { sum: Float64Array; count: Float64Array; faces: number }>();
  for (let i = 0; i < n; i++) {
    let g = sums.get(groups[i]);
    if (!g) {
      sums.set(
        groups[i],
        g = { sum: new Float64Array(NUM_COORDS), count: new Float64Array(NUM_COORDS), faces: 0 },
      );
    }
    g.faces++;
    for (let j = 0; j < NUM_COORDS; j++) {
      const e = truth[i * NUM_COORDS + j] - pred[i * NUM_COORDS + j];
      if (Number.isFinite(e)) g.sum[j] += e, g.count[j]++;
    }
  }
  return Object.fromEntries(
    [...sums].map(([name, g]) => [name, {
      offsets: Array.from(g.sum, (s, j) => g.count[j] ? round4(s / g.count[j]) : 0),
      faces: g.faces,
    }]),
  );
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

/**
 * The offsets of convention `name` (default: the calibration's default), or undefined for `"none"` or a
 * model without calibration.
 *
 * @throws {UsageError} naming the known conventions when `name` is not one of them.
 * @throws {DataError} when the convention's offsets are not 30 finite numbers.
 */
export function conventionOffsets(
  calibration: Calibration | undefined,
  name?: string,
): Float32Array | undefined {
  if (name === NO_CONVENTION || (!calibration && name === undefined)) return undefined;
  const known = Object.keys(calibration?.conventions ?? {});
  const chosen = name ?? calibration!.default;
  const offsets = calibration?.conventions[chosen];
  if (!offsets) {
    throw new UsageError(
      `unknown annotation convention "${chosen}": the model has ${
        known.length ? known.join(", ") : "none (run deno task calibrate)"
      }, or ${NO_CONVENTION}`,
    );
  }
  if (!Array.isArray(offsets) || offsets.length !== NUM_COORDS || !offsets.every(Number.isFinite)) {
    throw new DataError(`calibration: convention "${chosen}" needs ${NUM_COORDS} finite offsets`);
  }
  return Float32Array.from(offsets);
}

/**
 * The convention a dataset part is scored with: its own where the model has one (the same name, or the
 * longest convention name it begins with followed by `-`, `_`, `.` or `~`: `ytf68_heldout` and `ytf68~2`
 * take `ytf68`'s), else the default, else none; `forced` (a `--convention`) overrides.
 */
export function conventionForPart(
  calibration: Calibration | undefined,
  part: string,
  forced?: string,
): string {
  if (forced !== undefined) return forced;
  if (!calibration) return NO_CONVENTION;
  if (part in calibration.conventions) return part;
  const prefixes = Object.keys(calibration.conventions)
    .filter((name) => part.startsWith(name) && "-_.~".includes(part[name.length]))
    .sort((a, b) => b.length - a.length);
  return prefixes[0] ?? calibration.default;
}

/** Adds `offsets` (30) to each of the `points.length / 30` faces of `points`, in place; returns `points`. */
export function addOffsets(points: Float32Array, offsets: ArrayLike<number> | undefined): Float32Array {
  if (!offsets) return points;
  for (let i = 0; i < points.length; i++) points[i] += offsets[i % NUM_COORDS];
  return points;
}

/**
 * What to add to a mirrored prediction mapped back (`flipKeypoints`) when the predictor adds `offsets`:
 * mapping back mirrors the offsets too (x negated, left and right swapped), so without this flip
 * test-time augmentation would cancel every horizontal shift of a convention. `offsets − mirror(offsets)`.
 */
export function mirrorCorrection(offsets: ArrayLike<number>): Float32Array {
  const mirrored = Float32Array.from(offsets, (v, j) => j % 2 === 0 ? -v : v);
  for (const [l, r] of FLIP_KEYPOINT_PAIRS) {
    for (const c of [0, 1]) {
      [mirrored[2 * l + c], mirrored[2 * r + c]] = [mirrored[2 * r + c], mirrored[2 * l + c]];
    }
  }
  return Float32Array.from(offsets, (v, j) => v - mirrored[j]);
}

/**
 * Predictions on mirrored faces mapped back to the faces (`flipKeypoints`) for a predictor that adds
 * `offsets` (its `KeypointPredictor.offsets`): the convention is put back as the plain prediction has it.
 * What both flip test-time augmentations use.
 */
export function mirroredBack(pred: Float32Array, n: number, offsets?: ArrayLike<number>): Float32Array {
  const back = flipKeypoints(pred, n);
  return offsets ? addOffsets(back, mirrorCorrection(offsets)) : back;
}

/**
 * The calibration as a markdown table: per convention, its training faces, mean x and y offset and largest
 * offset (96-px crop pixels).
 */
export function calibrationTable(calibration: Calibration): string {
  const faces = (calibration.measured?.faces ?? {}) as Record<string, number>;
  const rows = Object.entries(calibration.conventions).map(([name, o]) => {
    const mean = (axis: number) =>
      o.filter((_, j) => j % 2 === axis).reduce((a, b) => a + b, 0) / (o.length / 2);
    const largest = Math.max(...o.map(Math.abs));
    return `| ${name}${name === calibration.default ? " (default)" : ""} | ${faces[name] ?? "pooled"} | ` +
      `${mean(0).toFixed(2)} | ${mean(1).toFixed(2)} | ${largest.toFixed(2)} |`;
  });
  return [
    "| convention | training faces | mean x | mean y | largest |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...rows,
  ]
    .join("\n");
}
