/**
 * Building, slicing and checking {@link KeypointDataset}s.
 *
 * @module
 */
import { NUM_COORDS, PIXELS } from "../core/constants.ts";
import type { KeypointDataset } from "./types.ts";

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
      throw new RangeError(`subset: index ${i} is outside the dataset's ${ds.n} faces`);
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
    sources: pick(ds.sources),
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
 * `RangeError` naming the first face that breaks one.
 */
export function assertDataset(ds: KeypointDataset): void {
  const where = `dataset ${ds.name}`;
  if (ds.images.length !== ds.n * PIXELS) {
    throw new RangeError(
      `${where}: ${ds.images.length} pixels for ${ds.n} faces (expected ${ds.n * PIXELS})`,
    );
  }
  if (ds.keypoints.length !== ds.n * NUM_COORDS || ds.mask.length !== ds.n * NUM_COORDS) {
    throw new RangeError(`${where}: keypoints/mask length does not match ${ds.n} faces × ${NUM_COORDS}`);
  }
  for (const [key, arr] of [["ids", ds.ids], ["groups", ds.groups], ["sources", ds.sources]] as const) {
    if (arr && arr.length !== ds.n) throw new RangeError(`${where}: ${arr.length} ${key} for ${ds.n} faces`);
  }
  for (let i = 0; i < ds.images.length; i++) {
    const v = ds.images[i];
    if (!(v >= 0 && v <= 1)) {
      throw new RangeError(`${where}: face ${Math.floor(i / PIXELS)} has pixel value ${v} outside [0, 1]`);
    }
  }
  for (let i = 0; i < ds.keypoints.length; i++) {
    if (Number.isNaN(ds.keypoints[i]) !== (ds.mask[i] === 0)) {
      throw new RangeError(
        `${where}: face ${Math.floor(i / NUM_COORDS)} mask disagrees with NaN at ${i % 30}`,
      );
    }
  }
}
