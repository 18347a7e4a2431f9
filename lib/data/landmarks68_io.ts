/**
 * Readers for 68-landmark face datasets (iBUG / 300-W point order), turned into the 96×96, 15-keypoint
 * {@link KeypointDataset} form: each face is a square crop around its 68 landmarks (plus a margin),
 * resized to 96×96 grayscale, with the 15 Kaggle keypoints computed from the 68 and mapped into the crop.
 * Each face keeps its {@link CropSource} (file, crop box, the 68 landmarks) so results map back.
 *
 * Two layouts are read:
 * - Udacity / YouTube-Faces ({@link readLandmarks68Folder}): `root/training/`, `root/test/` and
 *   `root/<split>_frames_keypoints.csv` (header `,0,1,…,135`; rows `file,x0,y0,…,x67,y67`, 0-based pixels).
 * - 300-W ({@link readPtsFolder}): images with a `.pts` file of the same stem beside them, with or without
 *   the `version: 1` / `n_points: 68` / `{ … }` header; coordinates are 1-based and shifted to 0-based.
 *
 * An empty landmark value is missing (NaN): keypoints computed from it are missing too.
 *
 * @module
 */
import { IBUG68_TO_KAGGLE15, KEYPOINT_NAMES, NUM_COORDS, NUM_LANDMARKS_68 } from "../core/constants.ts";
import { DataError, UsageError } from "../core/errors.ts";
import { readGray } from "../core/image_io.ts";
import { DEFAULT_CROP_MARGIN, pointBounds, squareBoxAround, toCropCoords } from "./crop.ts";
import { cropToFace } from "./crop_io.ts";
import { checkInFrame, maskFromKeypoints } from "./dataset.ts";
import { PIXELS } from "../core/constants.ts";
import type { CropSource, KeypointDataset } from "./types.ts";

/** Options of the 68-landmark readers. */
export interface Landmarks68Options {
  /** Crop margin as a fraction of the landmarks' larger extent, each side (default 0.25; see `squareBoxAround`). */
  margin?: number;
  /** Read at most this many faces (the first ones in file order). */
  limit?: number;
  /** Images decoded at once (default 4). */
  concurrency?: number;
}

/** The splits of the Udacity / YouTube-Faces layout. */
export type Landmarks68Split = "training" | "test";

/** One face to read: its image, 68 landmarks in original 0-based pixels, and where they came from. */
interface FaceRecord {
  image: string;
  landmarks: Float32Array;
  id: string;
  group: string;
  /** The landmark file and 1-based row, for error messages. */
  file: string;
  row?: number;
}

/**
 * The 15 Kaggle keypoints (`[x0, y0, …, x14, y14]`, Kaggle column order) from 68 iBUG landmarks
 * (`[x0, y0, …, x67, y67]`), by {@link IBUG68_TO_KAGGLE15}. A keypoint is NaN if any landmark it uses is.
 *
 * @example
 * ```ts
 * const points68 = new Float32Array(136).map((_, i) => 100 + (i % 2 ? 3 : 2) * (i >> 1)); // x0, y0, …
 * const kp = landmarks68ToKaggle15(points68);
 * kp[20]; // nose_tip x = points68[60] (landmark 30)
 * ```
 */
export function landmarks68ToKaggle15(points68: ArrayLike<number>): Float32Array {
  if (points68.length !== 2 * NUM_LANDMARKS_68) {
    throw new UsageError(
      `landmarks68ToKaggle15: expected ${2 * NUM_LANDMARKS_68} numbers, got ${points68.length}`,
    );
  }
  const out = new Float32Array(NUM_COORDS);
  KEYPOINT_NAMES.forEach((name, k) => {
    const idx = IBUG68_TO_KAGGLE15[name];
    let sx = 0, sy = 0;
    for (const i of idx) sx += points68[2 * i], sy += points68[2 * i + 1];
    out[2 * k] = sx / idx.length;
    out[2 * k + 1] = sy / idx.length;
  });
  return out;
}

/**
 * Reads one split of a Udacity / YouTube-Faces 68-landmark folder.
 *
 * `ids` are the image file names, `groups` the person (`Person_Name_NN.jpg` → `Person_Name`), and the
 * dataset is named `<root>:<split>`.
 *
 * @example
 * ```ts
 * const ds = await readLandmarks68Folder("../shared/data/ytf68", "test", { limit: 100 });
 * ```
 * @throws DataError naming the CSV file and row for a malformed row, a non-numeric landmark, a missing
 *   image or one that fails to decode.
 */
export async function readLandmarks68Folder(
  root: string,
  split: Landmarks68Split,
  opts: Landmarks68Options = {},
): Promise<KeypointDataset> {
  if (split !== "training" && split !== "test") {
    throw new UsageError(`readLandmarks68Folder: split must be "training" or "test", got "${split}"`);
  }
  const limit = checkLimit(opts.limit);
  root = root.replace(/\/+$/, "") || "/";
  const csvPath = `${root}/${split}_frames_keypoints.csv`;
  let text: string;
  try {
    text = await Deno.readTextFile(csvPath);
  } catch (e) {
    const what = e instanceof Deno.errors.NotFound ? "landmark file not found" : (e as Error).message;
    throw new DataError(`${what} (expected the Udacity / YouTube-Faces layout)`, { file: csvPath });
  }
  const lines = text.split(/\r?\n/);
  const records: FaceRecord[] = [];
  for (let i = 1; i < lines.length && records.length < limit; i++) {
    if (lines[i].trim() === "") continue;
    const row = i + 1; // as an editor shows it: the header is row 1
    const fields = splitCsvLine(lines[i], csvPath, row);
    if (fields.length !== 1 + 2 * NUM_LANDMARKS_68) {
      throw new DataError(
        `expected a file name and ${2 * NUM_LANDMARKS_68} landmark values, found ${fields.length} fields`,
        { file: csvPath, row },
      );
    }
    const name = fields[0].trim();
    if (name === "") throw new DataError("empty image file name", { file: csvPath, row });
    const landmarks = new Float32Array(2 * NUM_LANDMARKS_68);
    for (let j = 0; j < landmarks.length; j++) {
      landmarks[j] = parseCoordinate(fields[j + 1], csvPath, row, landmarkColumn(j));
    }
    records.push({
      image: `${root}/${split}/${name}`,
      landmarks,
      id: name,
      group: stem(name).replace(/_\d+$/, ""),
      file: csvPath,
      row,
    });
  }
  return await buildDataset(`${root}:${split}`, records, opts);
}

/**
 * Reads a 300-W style folder: every `*.pts` file with its image (same stem, `.jpg`, `.jpeg` or `.png`, any
 * case) beside it, in file-name order. `ids` are the image file names, `groups` the stems; the dataset is
 * named after the folder.
 *
 * @example
 * ```ts
 * const ds = await readPtsFolder("data/300w/helen_trainset", { margin: 0.3 });
 * ```
 * @throws DataError naming the file for a folder with no `.pts`, a `.pts` with the wrong number of points,
 *   malformed braces or a non-numeric value (with its line), a `.pts` with no image, or an image that
 *   fails to decode.
 */
export async function readPtsFolder(dir: string, opts: Landmarks68Options = {}): Promise<KeypointDataset> {
  const limit = checkLimit(opts.limit);
  dir = dir.replace(/\/+$/, "") || "/";
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isFile || e.isSymlink) names.push(e.name);
  } catch (e) {
    throw new DataError(`cannot list folder: ${(e as Error).message}`, { file: dir });
  }
  names.sort();
  const images = new Map<string, string>(); // lower-case stem → image name
  for (const n of names) {
    if (/\.(jpe?g|png)$/i.test(n) && !images.has(stem(n).toLowerCase())) images.set(stem(n).toLowerCase(), n);
  }
  const ptsNames = names.filter((n) => /\.pts$/i.test(n));
  if (ptsNames.length === 0) throw new DataError("no .pts landmark files in this folder", { file: dir });
  const labelled = new Set(ptsNames.map((n) => stem(n).toLowerCase()));
  const unlabelled = [...images.values()].filter((n) => !labelled.has(stem(n).toLowerCase()));
  if (unlabelled.length > 0) {
    const shown = unlabelled.slice(0, 3).join(", ") + (unlabelled.length > 3 ? ", …" : "");
    console.warn(`note: ${dir}: ${unlabelled.length} image(s) without a .pts file left out (${shown})`);
  }
  const records: FaceRecord[] = [];
  for (const ptsName of ptsNames.slice(0, limit)) {
    const ptsPath = `${dir}/${ptsName}`;
    const landmarks = parsePts(await Deno.readTextFile(ptsPath), ptsPath);
    const image = images.get(stem(ptsName).toLowerCase());
    if (!image) {
      throw new DataError(`no image ${stem(ptsName)}.jpg/.jpeg/.png beside this landmark file`, {
        file: ptsPath,
      });
    }
    records.push({
      image: `${dir}/${image}`,
      landmarks,
      id: image,
      group: _photoOf(stem(ptsName)),
      file: ptsPath,
    });
  }
  return await buildDataset(dir, records, opts);
}

/**
 * The photo a 300-W face belongs to: HELEN and AFW name the faces of one photo `<photo>_<n>` (n = 1, 2, …),
 * so the faces of one photo share a group and never straddle a split; LFPW's `image_0001` (four digits,
 * one face each) stays whole. Exported for the tests only (the leading `_`).
 */
export function _photoOf(faceStem: string): string {
  return faceStem.replace(/^(.*\d)_\d{1,2}$/, "$1");
}

/**
 * Parses the text of a `.pts` file into 68 landmarks, `[x0, y0, …]`, 0-based (the file's 1-based values
 * minus 1). Accepts the `version:` / `n_points:` header and `{ }` braces, or bare `x y` lines.
 *
 * @throws DataError naming `file` (and the line) when the structure or a value is wrong.
 */
function parsePts(text: string, file: string): Float32Array {
  const lines = text.split(/\r?\n/).map((l, i) => ({ text: l.trim(), line: i + 1 })).filter((l) => l.text);
  let declared: number | undefined;
  let k = 0;
  while (k < lines.length && /^[a-z_]+\s*:/i.test(lines[k].text)) {
    const m = /^n_points\s*:\s*(\S+)$/i.exec(lines[k].text);
    if (m) {
      declared = Number(m[1]);
      if (!Number.isInteger(declared)) {
        throw new DataError(`n_points is not an integer: "${m[1]}"`, { file, row: lines[k].line });
      }
    }
    k++;
  }
  let body = lines.slice(k);
  const open = body.length > 0 && body[0].text === "{";
  const close = body.length > 0 && body[body.length - 1].text === "}";
  if (open !== close || (k > 0 && !open)) {
    throw new DataError(
      open ? 'malformed braces: "{" is never closed by "}"' : close ? 'malformed braces: "}" without "{"' : (
        'malformed braces: expected "{" after the header'
      ),
      { file },
    );
  }
  if (open) body = body.slice(1, -1);
  const stray = body.find((l) => /[{}]/.test(l.text));
  if (stray) throw new DataError(`malformed braces: unexpected "${stray.text}"`, { file, row: stray.line });
  if (declared !== undefined && declared !== body.length) {
    throw new DataError(`n_points says ${declared} but ${body.length} points follow`, { file });
  }
  if (body.length !== NUM_LANDMARKS_68) {
    throw new DataError(`expected ${NUM_LANDMARKS_68} points, found ${body.length}`, { file });
  }
  const out = new Float32Array(2 * NUM_LANDMARKS_68);
  body.forEach((l, i) => {
    const parts = l.text.split(/[\s,]+/);
    if (parts.length !== 2) {
      throw new DataError(`expected "x y", found "${l.text}"`, { file, row: l.line });
    }
    for (let c = 0; c < 2; c++) {
      const v = parseCoordinate(parts[c], file, l.line, landmarkColumn(2 * i + c));
      if (Number.isNaN(v)) throw new DataError("empty landmark value", { file, row: l.line });
      out[2 * i + c] = v - 1; // 300-W counts pixels from 1
    }
  });
  return out;
}

/** Decodes, crops and maps every record, a few images at a time, into one dataset. */
async function buildDataset(
  name: string,
  records: FaceRecord[],
  opts: Landmarks68Options,
): Promise<KeypointDataset> {
  const margin = opts.margin ?? DEFAULT_CROP_MARGIN;
  if (!(margin >= 0) || !Number.isFinite(margin)) {
    throw new UsageError(`margin must be a finite number ≥ 0, got ${margin}`);
  }
  const concurrency = opts.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new UsageError(`concurrency must be an integer ≥ 1, got ${concurrency}`);
  }
  const n = records.length;
  const images = new Float32Array(n * PIXELS);
  const keypoints = new Float32Array(n * NUM_COORDS);
  const sources: CropSource[] = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const r = records[i];
      const where = { file: r.file, row: r.row };
      const gray = await readGray(r.image).catch((e: unknown) => {
        const msg = e instanceof DataError ? e.message : String(e);
        throw new DataError(`image for this row: ${msg}`, where);
      });
      const larger = Math.max(gray.width, gray.height);
      r.landmarks.forEach((v, j) => {
        const side = j % 2 === 0 ? gray.width : gray.height;
        checkInFrame(v, side, larger, { ...where, column: landmarkColumn(j) });
      });
      const bounds = pointBounds(r.landmarks);
      if (bounds.minX > bounds.maxX) {
        throw new DataError("every landmark is missing; cannot place a crop", where);
      }
      const box = squareBoxAround(r.landmarks, margin);
      images.set(await cropToFace(gray, box), i * PIXELS);
      const kp = landmarks68ToKaggle15(r.landmarks);
      for (let k = 0; k < kp.length; k += 2) {
        const [u, v] = toCropCoords(kp[k], kp[k + 1], box);
        keypoints[i * NUM_COORDS + k] = u;
        keypoints[i * NUM_COORDS + k + 1] = v;
      }
      sources[i] = { file: r.image, width: gray.width, height: gray.height, box, landmarks68: r.landmarks };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(n, 1)) }, worker));
  return {
    name,
    synthetic: false,
    n,
    images,
    keypoints,
    mask: maskFromKeypoints(keypoints),
    ids: records.map((r) => r.id),
    groups: records.map((r) => r.group),
    sources,
  };
}

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return Infinity;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new UsageError(`limit must be an integer ≥ 0, got ${limit}`);
  }
  return limit;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A decimal number, or NaN for an empty field; anything else is a DataError. */
function parseCoordinate(text: string, file: string, row: number | undefined, column: string): number {
  const t = text.trim();
  if (t === "" || t.toLowerCase() === "nan") return NaN;
  if (!NUMBER.test(t)) throw new DataError(`landmark value "${t}" is not a number`, { file, row, column });
  return Number(t);
}

/** `x12` / `y12`: the name of coordinate `j` of `[x0, y0, x1, …]`. */
function landmarkColumn(j: number): string {
  return `${j % 2 === 0 ? "x" : "y"}${j >> 1}`;
}

/** File name without its last extension. */
function stem(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(0, dot) : name;
}

/** Splits one CSV line into fields, honouring double-quoted fields (`""` is a quote inside one). */
function splitCsvLine(line: string, file: string, row: number): string[] {
  if (!line.includes('"')) return line.split(",");
  const fields: string[] = [];
  let i = 0;
  while (true) {
    if (line[i] === '"') {
      let value = "";
      i++;
      while (true) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new DataError("unterminated quoted field", { file, row });
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      fields.push(value);
      if (i < line.length && line[i] !== ",") throw new DataError("text after a quoted field", { file, row });
    } else {
      const c = line.indexOf(",", i);
      fields.push(line.slice(i, c < 0 ? line.length : c));
      i = c < 0 ? line.length : c;
    }
    if (i >= line.length) break;
    i++; // skip the comma
    if (i === line.length) {
      fields.push("");
      break;
    }
  }
  return fields;
}
