/**
 * Seeded train/validation splits: a random split of faces, and a group split that keeps all faces of one
 * group (the person a YouTube-Faces frame shows) on one side, since frames of one person are near copies
 * and leak between the sides of a random split.
 *
 * @example
 * ```ts
 * import { groupSplit, randomSplit } from "./split.ts";
 * import { loadDataset } from "./spec_io.ts";
 * const ds = await loadDataset("synthetic:500");
 * const { train, validation } = ds.groups ? groupSplit(ds, { validation: 0.2, seed: 1 }) : randomSplit(ds);
 * ```
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import { Rng } from "../core/rng.ts";
import { subset } from "./dataset.ts";
import type { KeypointDataset } from "./types.ts";

/** Options of {@link randomSplit} and {@link groupSplit}. */
export interface SplitOptions {
  /** Share of the faces for validation, in [0, 1). Default 0.2. */
  validation?: number;
  /** Seed: equal seeds give equal splits. Default 0. */
  seed?: number;
}

/** The two sides of a split. Each keeps the faces in their original order. */
export interface Split {
  train: KeypointDataset;
  validation: KeypointDataset;
}

/**
 * Splits the faces at random: `round(n × validation)` faces go to validation, the rest to train.
 *
 * @example
 * ```ts
 * import { syntheticDataset } from "./synthetic.ts";
 * const ds = syntheticDataset({ n: 100 });
 * const { train, validation } = randomSplit(ds, { validation: 0.1, seed: 3 });
 * ```
 * @throws {UsageError} when `validation` is outside [0, 1) or `seed` is not an integer.
 */
export function randomSplit(ds: KeypointDataset, options: SplitOptions = {}): Split {
  const { validation, seed } = checkOptions(options);
  const order = new Rng(seed).shuffle(Array.from({ length: ds.n }, (_, i) => i));
  const nVal = Math.round(ds.n * validation);
  const isVal = new Uint8Array(ds.n);
  for (const i of order.slice(0, nVal)) isVal[i] = 1;
  return sides(ds, isVal, `random split ${validation}, seed ${seed}`);
}

/**
 * Splits by `ds.groups`: every group lies wholly on one side. Groups are taken in a seeded random order and
 * each goes to validation when that brings the validation count closer to `n × validation`, so the share is
 * met as closely as the group sizes allow (both sides keep at least one group when `validation` > 0).
 *
 * @example
 * ```ts
 * import { readLandmarks68Folder } from "./landmarks68_io.ts";
 * const ds = await readLandmarks68Folder("../shared/data/ytf68", "training");
 * const { train, validation } = groupSplit(ds, { validation: 0.2, seed: 0 });
 * ```
 * @throws {UsageError} when the dataset has no groups or only one, or the options are out of range.
 */
export function groupSplit(ds: KeypointDataset, options: SplitOptions = {}): Split {
  const { validation, seed } = checkOptions(options);
  if (!ds.groups) {
    throw new UsageError(
      `group split: dataset ${ds.name} has no groups (the person of each face); use a random split`,
    );
  }
  const members = new Map<string, number[]>();
  ds.groups.forEach((g, i) => members.has(g) ? members.get(g)!.push(i) : members.set(g, [i]));
  // Sorted before shuffling, so the split depends on the seed and the groups, not on the faces' order.
  const names = new Rng(seed).shuffle([...members.keys()].sort());
  if (validation > 0 && names.length < 2) {
    throw new UsageError(
      `group split: dataset ${ds.name} has ${names.length} group${names.length === 1 ? "" : "s"}; ` +
        "a group split needs at least 2 (use a random split)",
    );
  }
  const target = ds.n * validation;
  const chosen: string[] = [];
  let count = 0;
  for (const g of names) {
    const size = members.get(g)!.length;
    if (Math.abs(count + size - target) < Math.abs(count - target)) chosen.push(g), count += size;
  }
  if (validation > 0 && chosen.length === 0) chosen.push(names[0]);
  if (chosen.length === names.length) chosen.pop();
  const isVal = new Uint8Array(ds.n);
  for (const g of chosen) for (const i of members.get(g)!) isVal[i] = 1;
  return sides(ds, isVal, `group split ${validation}, seed ${seed}`);
}

/**
 * The group of a YouTube-Faces frame: its file name without folder, extension and the trailing frame
 * number (`_NN`). A name without a frame number is its own group.
 *
 * @example
 * ```ts
 * groupOf("training/Abdel_Aziz_Al-Hakim_02.jpg"); // "Abdel_Aziz_Al-Hakim"
 * ```
 */
export function groupOf(fileName: string): string {
  const base = fileName.replace(/^.*[\\/]/, "");
  const stem = base.replace(/\.[^.]*$/, "") || base;
  return stem.replace(/_\d+$/, "") || stem;
}

function checkOptions(options: SplitOptions): { validation: number; seed: number } {
  const { validation = 0.2, seed = 0 } = options;
  if (!(validation >= 0 && validation < 1)) {
    throw new UsageError(`split: validation share must be in [0, 1), got ${validation}`);
  }
  if (!Number.isInteger(seed)) throw new UsageError(`split: seed must be an integer, got ${seed}`);
  return { validation, seed };
}

function sides(ds: KeypointDataset, isVal: Uint8Array, how: string): Split {
  const train: number[] = [], validation: number[] = [];
  isVal.forEach((v, i) => (v ? validation : train).push(i));
  return {
    train: subset(ds, train, `${ds.name} [train: ${how}]`),
    validation: subset(ds, validation, `${ds.name} [validation: ${how}]`),
  };
}
