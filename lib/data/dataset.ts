/**
 * Building, slicing and checking {@link KeypointDataset}s.
 *
 * @module
 */
import { NUM_COORDS, PIXELS } from "../core/constants.ts";
import { DataError, type DataLocation, UsageError } from "../core/errors.ts";
import type { CropSource, KeypointDataset } from "./types.ts";

/**
 * How far outside its image a labelled keypoint may lie, as a fraction of the image's larger side on each
 * side: generous for faces cut by the frame, but a typo such as `1e6` or `-40` on a 96-pixel face is refused.
 */
export const KEYPOINT_FRAME_MARGIN = 0.25;

/**
 * Throws a `DataError` at `where` unless coordinate `v` (NaN: missing, allowed) lies within `[0, side)`
 * widened by {@link KEYPOINT_FRAME_MARGIN} × `largerSide` on each side.
 */
export function checkInFrame(v: number, side: number, largerSide: number, where: DataLocation): void {
  const pad = KEYPOINT_FRAME_MARGIN * largerSide;
  if (Number.isNaN(v) || (v >= -pad && v <= side + pad)) return;
  throw new DataError(
    `keypoint value ${v} lies outside the image (${side} pixels; allowed ${-pad} … ${side + pad})`,
    where,
  );
}

/** The mask (1 present, 0 missing) for an array of coordinates with NaN for missing. */
export function maskFromKeypoints(keypoints: Float32Array): Uint8Array {
  const mask = new Uint8Array(keypoints.length);
  for (let i = 0; i < keypoints.length; i++) mask[i] = Number.isNaN(keypoints[i]) ? 0 : 1;
  return mask;
}

/** The faces at the given indices, in that order, as a new dataset (arrays are copied). */
export function subset(ds: KeypointDataset, indices: ArrayLike<number>, name = ds.name): KeypointDataset {
  const n = indices.length;
  const images = new Float32Array(n * PIXELS);
  const keypoints = new Float32Array(n * NUM_COORDS);
  const mask = new Uint8Array(n * NUM_COORDS);
  for (let k = 0; k < n; k++) {
    const i = indices[k];
    if (!Number.isInteger(i) || i < 0 || i >= ds.n) {
      throw new UsageError(`subset: index ${i} is outside the dataset's ${ds.n} faces`);
    }
    images.set(ds.images.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS);
    keypoints.set(ds.keypoints.subarray(i * NUM_COORDS, (i + 1) * NUM_COORDS), k * NUM_COORDS);
    mask.set(ds.mask.subarray(i * NUM_COORDS, (i + 1) * NUM_COORDS), k * NUM_COORDS);
  }
  const pick = <T>(a?: T[]) => a && Array.from({ length: n }, (_, k) => a[indices[k]]);
  return {
    name,
    synthetic: ds.synthetic,
    n,
    images,
    keypoints,
    mask,
    ids: pick(ds.ids),
    groups: pick(ds.groups),
    parts: pick(ds.parts),
    sources: pick(ds.sources),
  };
}

/**
 * Several datasets as one, in order. Each face's part is its dataset's `label`; groups are prefixed with it
 * (`ytf68/Alan_Ball`), so two sources' groups never merge and a group split keeps every source's people and
 * photos on one side. Faces without a group get their own (`label/#i`).
 */
export function concatDatasets(items: readonly { label: string; ds: KeypointDataset }[]): KeypointDataset {
  const n = items.reduce((a, { ds }) => a + ds.n, 0);
  const images = new Float32Array(n * PIXELS);
  const keypoints = new Float32Array(n * NUM_COORDS);
  const mask = new Uint8Array(n * NUM_COORDS);
  const ids: string[] = [], groups: string[] = [], parts: string[] = [];
  const sources: (CropSource | undefined)[] = [];
  let at = 0;
  for (const { label, ds } of items) {
    images.set(ds.images.subarray(0, ds.n * PIXELS), at * PIXELS);
    keypoints.set(ds.keypoints.subarray(0, ds.n * NUM_COORDS), at * NUM_COORDS);
    mask.set(ds.mask.subarray(0, ds.n * NUM_COORDS), at * NUM_COORDS);
    for (let i = 0; i < ds.n; i++) {
      ids.push(ds.ids?.[i] ?? `${label}#${i}`);
      groups.push(`${label}/${ds.groups?.[i] ?? `#${i}`}`);
      parts.push(ds.parts ? `${label}/${ds.parts[i]}` : label);
      sources.push(ds.sources?.[i]);
    }
    at += ds.n;
  }
  return {
    name: items.map(({ ds }) => ds.name).join("+"),
    synthetic: items.some(({ ds }) => ds.synthetic),
    n,
    images,
    keypoints,
    mask,
    ids,
    groups,
    parts,
    sources: sources.every((s) => s !== undefined) ? sources as CropSource[] : undefined,
  };
}

/** The faces whose 30 coordinates are all present (the thesis's drop-incomplete mode). */
export function completeOnly(ds: KeypointDataset): KeypointDataset {
  const keep: number[] = [];
  for (let i = 0; i < ds.n; i++) {
    if (ds.mask.subarray(i * NUM_COORDS, (i + 1) * NUM_COORDS).every((m) => m === 1)) keep.push(i);
  }
  return subset(ds, keep, `${ds.name} (complete rows)`);
}

/**
 * Checks the invariants of a dataset (array lengths, pixel range, mask agreeing with NaN) and throws a
 * `DataError` naming the first face that breaks one.
 */
export function assertDataset(ds: KeypointDataset): void {
  const where = `dataset ${ds.name}`;
  if (ds.images.length !== ds.n * PIXELS) {
    throw new DataError(
      `${where}: ${ds.images.length} pixels for ${ds.n} faces (expected ${ds.n * PIXELS})`,
    );
  }
  if (ds.keypoints.length !== ds.n * NUM_COORDS || ds.mask.length !== ds.n * NUM_COORDS) {
    throw new DataError(`${where}: keypoints/mask length does not match ${ds.n} faces × ${NUM_COORDS}`);
  }
  for (const [key, arr] of [["ids", ds.ids], ["groups", ds.groups], ["sources", ds.sources]] as const) {
    if (arr && arr.length !== ds.n) throw new DataError(`${where}: ${arr.length} ${key} for ${ds.n} faces`);
  }
  for (let i = 0; i < ds.images.length; i++) {
    const v = ds.images[i];
    if (!(v >= 0 && v <= 1)) {
      throw new DataError(`${where}: face ${Math.floor(i / PIXELS)} has pixel value ${v} outside [0, 1]`);
    }
  }
  for (let i = 0; i < ds.keypoints.length; i++) {
    if (Number.isNaN(ds.keypoints[i]) !== (ds.mask[i] === 0)) {
      throw new DataError(
        `${where}: face ${Math.floor(i / NUM_COORDS)} mask disagrees with NaN at ${i % 30}`,
      );
    }
  }
}
