/**
 * One way to name a dataset, on the command line and in notebooks, and to load it.
 *
 * | text                                          | dataset                                                   |
 * |-----------------------------------------------|-----------------------------------------------------------|
 * | `synthetic`, `synthetic:N`, `synthetic:N:SEED` | N generated faces (default 1000, seed 0): the embedded default |
 * | `PATH.csv`                                    | a Kaggle `training.csv` / `test.csv`                      |
 * | `DIR`, `DIR:training`, `DIR:test`             | a Udacity / YouTube-Faces folder with `<split>_frames_keypoints.csv` (default split training) |
 * | `DIR/training_frames_keypoints.csv` (or `test_…`) | the same folder and split                              |
 * | `DIR`                                         | a 300-W folder of images with `.pts` files beside them    |
 *
 * A folder named `synthetic` is written `./synthetic`. A folder is read as 68-landmark when it holds the
 * split's `*_frames_keypoints.csv`, else as 300-W when it holds `.pts` files.
 *
 * @example
 * ```ts
 * import { describeDataset, loadDataset } from "./spec_io.ts";
 * const ds = await loadDataset(Deno.args[0] ?? "synthetic:500");
 * console.log(describeDataset(ds));
 * ```
 *
 * @module
 */
import { KEYPOINT_NAMES, NUM_COORDS, NUM_KEYPOINTS } from "../core/constants.ts";
import { UsageError } from "../core/errors.ts";
import { readKaggleCsv } from "./kaggle_io.ts";
import { readLandmarks68Folder, readPtsFolder } from "./landmarks68_io.ts";
import { syntheticDataset } from "./synthetic.ts";
import { concatDatasets } from "./dataset.ts";
import { cachedLoad } from "./dataset_cache_io.ts";
import type { KeypointDataset } from "./types.ts";

/** A parsed dataset name: what {@link parseDatasetSpec} returns and {@link loadDataset} takes. */
export type DatasetSpec =
  | { kind: "synthetic"; n: number; seed: number }
  | { kind: "kaggle"; path: string }
  | { kind: "landmarks68"; root: string; split: "training" | "test" }
  | { kind: "pts"; dir: string }
  | { kind: "combined"; parts: { label: string; spec: DatasetSpec }[] };

/** Faces in `synthetic` when no N is given. */
export const DEFAULT_SYNTHETIC_SIZE = 1000;

/** The accepted forms, for help texts and error messages. */
export const DATASET_SPEC_HELP = [
  "Accepted dataset names:",
  `  synthetic | synthetic:N | synthetic:N:SEED  generated faces (default N ${DEFAULT_SYNTHETIC_SIZE}, SEED 0)`,
  "  PATH.csv                                   Kaggle training.csv or test.csv",
  "  DIR | DIR:training | DIR:test              folder with <split>_frames_keypoints.csv (YouTube-Faces 68)",
  "  DIR                                        300-W folder of images with .pts landmark files",
  "                                             (or a folder of such folders: each is one part)",
  "  A+B+…                                      several datasets as one (metrics per part and in total)",
].join("\n");

const SPLIT_CSV = /^(training|test)_frames_keypoints\.csv$/;

/**
 * Parses a dataset name (see the module doc) and checks that the file or folder it names exists and has
 * the expected content.
 *
 * @example
 * ```ts
 * parseDatasetSpec("synthetic:200");               // { kind: "synthetic", n: 200, seed: 0 }
 * parseDatasetSpec("../shared/data/ytf68:test");   // { kind: "landmarks68", root: "../shared/data/ytf68", split: "test" }
 * ```
 * @throws {UsageError} explaining the accepted forms and what was found, for a malformed name, a path
 *   that does not exist, or a folder of neither layout.
 */
export function parseDatasetSpec(text: string): DatasetSpec {
  const t = text.trim();
  if (t === "") fail(text, "the name is empty");
  // "A+B": several datasets, unless the whole text names an existing path that holds a "+".
  if (t.includes("+") && !statOrUndefined(t.replace(/:(training|test)$/, ""))) {
    const names = t.split("+").map((p) => p.trim());
    if (names.some((p) => p === "")) fail(text, "an empty part between '+' signs");
    return combined(names.map((p) => parseDatasetSpec(p)));
  }
  if (t === "synthetic" || t.startsWith("synthetic:")) return parseSynthetic(t);

  const splitMatch = /^(.*):(training|test)$/.exec(t);
  const path = splitMatch ? splitMatch[1] : t;
  const stat = statOrUndefined(path);
  if (!stat) {
    fail(text, `no file or folder "${path}"${splitMatch ? ` (split "${splitMatch[2]}")` : ""}`);
  }
  if (stat.isFile) {
    if (splitMatch) fail(text, `"${path}" is a file; a split (:${splitMatch[2]}) goes after a folder`);
    if (!/\.csv$/i.test(path)) fail(text, `"${path}" is a file but not a .csv`);
    const name = basename(path);
    const m = SPLIT_CSV.exec(name);
    if (m) return { kind: "landmarks68", root: dirname(path), split: m[1] as "training" | "test" };
    return { kind: "kaggle", path };
  }
  const root = path.replace(/(.)[\\/]+$/, "$1");
  const entries = listFolder(root);
  const split = (splitMatch?.[2] ?? "training") as "training" | "test";
  if (entries.includes(`${split}_frames_keypoints.csv`)) return { kind: "landmarks68", root, split };
  const splitFiles = entries.filter((e) => SPLIT_CSV.test(e));
  if (splitFiles.length > 0) {
    fail(text, `"${root}" has no ${split}_frames_keypoints.csv (found ${splitFiles.join(", ")})`);
  }
  const pts = entries.filter((e) => /\.pts$/i.test(e));
  if (pts.length > 0) {
    if (splitMatch) fail(text, `"${root}" is a 300-W folder (${pts.length} .pts files); it has no splits`);
    return { kind: "pts", dir: root };
  }
  // A folder of 300-W folders (../shared/data/300w): each subfolder with .pts files is one part.
  const ptsFolders = entries.filter((e) => {
    const sub = `${root}/${e}`;
    return statOrUndefined(sub)?.isDirectory && listFolder(sub).some((f) => /\.pts$/i.test(f));
  }).sort();
  if (ptsFolders.length > 0 && !splitMatch) {
    return combined(ptsFolders.map((e) => ({ kind: "pts", dir: `${root}/${e}` })));
  }
  const sample = entries.slice(0, 5).join(", ") + (entries.length > 5 ? ", …" : "");
  fail(
    text,
    `"${root}" holds neither <split>_frames_keypoints.csv nor .pts files (found ${entries.length} ` +
      `entries${entries.length ? `: ${sample}` : ""})`,
  );
}

/**
 * The text that names `spec` (the inverse of {@link parseDatasetSpec}), e.g. to record in a checkpoint.
 *
 * @example
 * ```ts
 * formatDatasetSpec({ kind: "synthetic", n: 500, seed: 2 }); // "synthetic:500:2"
 * ```
 */
export function formatDatasetSpec(spec: DatasetSpec): string {
  switch (spec.kind) {
    case "synthetic":
      return spec.seed === 0 ? `synthetic:${spec.n}` : `synthetic:${spec.n}:${spec.seed}`;
    case "kaggle":
      return spec.path;
    case "landmarks68":
      return `${spec.root}:${spec.split}`;
    case "pts":
      return spec.dir;
    case "combined":
      return spec.parts.map((p) => formatDatasetSpec(p.spec)).join("+");
  }
}

/** The short name a part is reported under: the folder's or file's base name (`ytf68`, `afw`). */
function partLabel(spec: DatasetSpec): string {
  switch (spec.kind) {
    case "synthetic":
      return "synthetic";
    case "kaggle":
      return basename(spec.path).replace(/\.csv$/i, "");
    case "landmarks68":
      return basename(spec.root);
    case "pts":
      return basename(spec.dir);
    case "combined":
      return spec.parts.map((p) => p.label).join("+");
  }
}

/**
 * Each face's part name: `ds.parts` when the dataset has several, else the short name its spec is
 * reported under (`ytf68` for `../shared/data/ytf68:test`), for every face.
 */
export function facePartNames(ds: KeypointDataset, data: string | DatasetSpec): string[] {
  if (ds.parts) return ds.parts;
  const label = partLabel(typeof data === "string" ? parseDatasetSpec(data) : data);
  return new Array<string>(ds.n).fill(label);
}

/** Flattens nested parts and gives each a distinct label (`afw`, `afw~2` if two parts share a name). */
function combined(specs: DatasetSpec[]): DatasetSpec {
  const flat = specs.flatMap((s) => s.kind === "combined" ? s.parts.map((p) => p.spec) : [s]);
  const seen = new Map<string, number>();
  return {
    kind: "combined",
    parts: flat.map((spec) => {
      const base = partLabel(spec);
      const k = (seen.get(base) ?? 0) + 1;
      seen.set(base, k);
      return { label: k === 1 ? base : `${base}~${k}`, spec };
    }),
  };
}

/** Options of {@link loadDataset}. */
export interface LoadDatasetOptions {
  /** Load at most this many faces (the first ones). */
  limit?: number;
  /** Crop margin for the 68-landmark layouts (see `squareBoxAround`); ignored by the others. */
  margin?: number;
  /**
   * Folder of the crop cache for photo folders (see `dataset_cache_io.ts`), e.g. `DATASET_CACHE_DIR`; the
   * commands use it, the library default is none (nothing is written).
   */
  cacheDir?: string;
}

/**
 * Loads the dataset a name or a parsed spec designates, with the reader for its kind.
 *
 * @example
 * ```ts
 * const ds = await loadDataset("synthetic:20");
 * const real = await loadDataset("../shared/data/ytf68:test", { limit: 100, margin: 0.3 });
 * ```
 * @throws {UsageError} for a bad name (see {@link parseDatasetSpec}) or limit; the readers' `DataError`s for
 *   bad content.
 */
export async function loadDataset(
  textOrSpec: string | DatasetSpec,
  opts: LoadDatasetOptions = {},
): Promise<KeypointDataset> {
  const spec = typeof textOrSpec === "string" ? parseDatasetSpec(textOrSpec) : textOrSpec;
  const { limit, margin } = opts;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new UsageError(`dataset limit must be a positive integer, got ${limit}`);
  }
  switch (spec.kind) {
    case "synthetic":
      // The first k synthetic faces do not depend on n, so a limit is a prefix like for the files.
      return syntheticDataset({ n: Math.min(spec.n, limit ?? spec.n), seed: spec.seed });
    case "kaggle":
      return await readKaggleCsv(spec.path, { limit });
    case "landmarks68": {
      const load = () => readLandmarks68Folder(spec.root, spec.split, { limit, margin });
      if (!opts.cacheDir) return await load();
      const paths = [`${spec.root}/${spec.split}_frames_keypoints.csv`, `${spec.root}/${spec.split}`];
      return await cachedLoad(
        paths,
        { kind: spec.kind, split: spec.split, limit, margin },
        load,
        opts.cacheDir,
      );
    }
    case "pts": {
      const load = () => readPtsFolder(spec.dir, { limit, margin });
      if (!opts.cacheDir) return await load();
      return await cachedLoad([spec.dir], { kind: spec.kind, limit, margin }, load, opts.cacheDir);
    }
    case "combined": {
      // A limit applies to each part, so that every part is represented in a quick run.
      const items = [];
      for (const p of spec.parts) items.push({ label: p.label, ds: await loadDataset(p.spec, opts) });
      return concatDatasets(items);
    }
  }
}

/**
 * A short text about a dataset for notebooks and the CLI: name (flagged when synthetic), faces, complete
 * faces, groups, and the faces missing each keypoint.
 *
 * @example
 * ```ts
 * import { syntheticDataset } from "./synthetic.ts";
 * console.log(describeDataset(syntheticDataset({ n: 100 })));
 * // synthetic:100 (seed 0) [SYNTHETIC faces, not real photographs]
 * // 100 faces of 96×96; 36 complete (36.0%); 24 groups
 * // missing (faces without the keypoint):
 * //   left_eye_inner_corner        62 (62.0%)
 * // …
 * ```
 */
export function describeDataset(ds: KeypointDataset): string {
  let complete = 0;
  const missing = new Array<number>(NUM_KEYPOINTS).fill(0);
  for (let i = 0; i < ds.n; i++) {
    let all = true;
    for (let k = 0; k < NUM_KEYPOINTS; k++) {
      const c = i * NUM_COORDS + 2 * k;
      if (ds.mask[c] === 0 || ds.mask[c + 1] === 0) missing[k]++, all = false;
    }
    if (all) complete++;
  }
  const pct = (v: number) => ds.n ? `${(100 * v / ds.n).toFixed(1)}%` : "–";
  const groups = ds.groups ? `; ${new Set(ds.groups).size} groups` : "";
  const lines = [
    `${ds.name}${ds.synthetic ? " [SYNTHETIC faces, not real photographs]" : ""}`,
    `${ds.n} faces of 96×96; ${complete} complete (${pct(complete)})${groups}`,
  ];
  const gaps = KEYPOINT_NAMES.map((name, k) => [name, missing[k]] as const).filter(([, m]) => m > 0);
  if (gaps.length === 0) lines.push("missing: none");
  else if (gaps.every(([, m]) => m === ds.n)) lines.push("missing: every keypoint (no labels)");
  else {
    lines.push("missing (faces without the keypoint):");
    for (const [name, m] of gaps) lines.push(`  ${name.padEnd(24)} ${String(m).padStart(6)} (${pct(m)})`);
  }
  return lines.join("\n");
}

function parseSynthetic(t: string): DatasetSpec {
  const parts = t.split(":");
  if (parts.length > 3) fail(t, "too many parts after synthetic (write synthetic:N or synthetic:N:SEED)");
  const n = parts[1] === undefined ? DEFAULT_SYNTHETIC_SIZE : Number(parts[1]);
  if (!(/^\d+$/.test(parts[1] ?? "1") && Number.isSafeInteger(n) && n > 0)) {
    fail(t, `N must be a positive integer, got "${parts[1]}"`);
  }
  const seed = parts[2] === undefined ? 0 : Number(parts[2]);
  if (!(/^-?\d+$/.test(parts[2] ?? "0") && Number.isSafeInteger(seed))) {
    fail(t, `SEED must be an integer, got "${parts[2]}"`);
  }
  return { kind: "synthetic", n, seed };
}

function fail(text: string, problem: string): never {
  throw new UsageError(`dataset "${text}": ${problem}.\n${DATASET_SPEC_HELP}`);
}

function statOrUndefined(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new UsageError(`dataset "${path}": cannot read it: ${(e as Error).message}`);
  }
}

function listFolder(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch (e) {
    throw new UsageError(`dataset "${dir}": cannot list the folder: ${(e as Error).message}`);
  }
}

const basename = (p: string) => p.replace(/^.*[\\/]/, "");
const dirname = (p: string) => {
  const i = Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\"));
  return i < 0 ? "." : i === 0 ? "/" : p.slice(0, i);
};
