/**
 * Kaggle "Facial Keypoints Detection" CSV files: read `training.csv` / `test.csv` into a
 * {@link KeypointDataset}, read the keypoint columns alone, write a dataset back in the training format,
 * and write a submission through `IdLookupTable.csv`.
 *
 * The reader streams: it reads the file in 1 MiB chunks and parses each row's bytes straight into typed
 * arrays, so no string ever holds the whole file (V8 caps one string at ≈512 MB; the Kaggle training file
 * is ≈240 MB and a whole-file parse peaks at ≈500 MB).
 *
 * Why not papaparse for the big files: papaparse (streaming, `step`) still decodes the file to text and
 * hands over each row's 9216-number `Image` field as a ≈33 KB string that must be scanned again for the
 * numbers. Parsing the UTF-8 bytes directly skips the decode and the per-row strings. Measured by
 * `bench/csv_bench.ts` on a generated 233 MB, 7049-row file (shared 2-core machine, best of 3): this
 * reader 0.85 s and 311 MB peak RSS; papaparse streaming with the same kind of `charCodeAt` pixel loop
 * 1.35 s and 333 MB; papaparse with `split(" ").map(Number)` 5.1 s. Papaparse is still used for the
 * small `IdLookupTable.csv`.
 *
 * @example
 * ```ts
 * const train = await readKaggleCsv("data/kaggle/training.csv");
 * const labels = await readKaggleLabels("../shared/data/kaggle/facial_keypoints_labels_only.csv");
 * await writeKaggleCsv("outputs/subset.csv", train);
 * ```
 *
 * @module
 */
// @ts-types="@types/papaparse"
import Papa from "papaparse";
import { IMAGE_SIZE, KEYPOINT_COLUMNS, NUM_COORDS } from "../core/constants.ts";
import { DataError, UsageError } from "../core/errors.ts";
import { PIXELS } from "../core/constants.ts";
import { checkInFrame } from "./dataset.ts";
import type { KeypointDataset } from "./types.ts";
import { writeFileAtomicWith } from "../core/atomic_io.ts";

/** Options of {@link readKaggleCsv}. */
export interface ReadKaggleOptions {
  /** Read at most this many faces (rows after the header). */
  limit?: number;
}

/** The keypoint columns of a Kaggle file: what {@link readKaggleLabels} returns. */
export interface KaggleLabels {
  /** Number of rows read. */
  n: number;
  /** `n × 30` coordinates in pixels, {@link KEYPOINT_COLUMNS} order; NaN where the cell is empty. */
  keypoints: Float32Array;
  /** `n × 30`: 1 where the coordinate is present, 0 where missing. */
  mask: Uint8Array;
}

/**
 * Reads a Kaggle `training.csv` (the 30 keypoint columns + `Image`, in any column order) or `test.csv`
 * (`ImageId,Image`) into a dataset: pixels scaled to [0, 1], keypoints in pixels, an empty cell (or `nan`)
 * becomes NaN with mask 0. `ids` are the `ImageId` column where there is one, else the 1-based row index.
 * Columns other than these are ignored.
 *
 * Throws a {@link DataError} naming the file, row (the header is row 1) and column for a missing `Image`
 * column, an unknown layout, a row with the wrong number of fields or pixels, a non-numeric or
 * out-of-range (0..255) pixel, or a non-numeric keypoint.
 *
 * @example
 * ```ts
 * const ds = await readKaggleCsv("training.csv", { limit: 100 });
 * console.log(ds.n, ds.keypoints.subarray(0, 2)); // 100, left_eye_center x and y of the first face
 * ```
 */
export async function readKaggleCsv(path: string, opts: ReadKaggleOptions = {}): Promise<KeypointDataset> {
  const limit = checkLimit(opts.limit);
  // A first pass counts the lines (memchr speed) so the image array is allocated once at its final size:
  // growing it by doubling would copy and hold up to 3× the ≈260 MB of pixels.
  const capacity = Math.min(limit, Math.max(0, (await countLines(path, limit + 1)) - 1));
  const parsed = await parseFile(path, { wantImages: true, limit, capacity });
  const n = parsed.n;
  let images = parsed.images!;
  // Fewer rows than lines (blank lines, quoted newlines): trim to the exact size.
  if (images.length !== n * PIXELS) images = images.slice(0, n * PIXELS);
  return {
    name: path,
    synthetic: false,
    n,
    images,
    keypoints: parsed.keypoints.slice(0, n * NUM_COORDS),
    mask: parsed.mask.slice(0, n * NUM_COORDS),
    ids: parsed.ids.length ? parsed.ids : Array.from({ length: n }, (_, i) => String(i + 1)),
  };
}

/**
 * Reads only the 30 keypoint columns of a Kaggle training-format file: the label-only copy
 * (`facial_keypoints_labels_only.csv`, no `Image` column) or a full `training.csv` (its `Image` column is
 * skipped without parsing). Throws a {@link DataError} if a keypoint column is missing or a value is not a
 * number.
 *
 * @example
 * ```ts
 * const { n, mask } = await readKaggleLabels("../shared/data/kaggle/facial_keypoints_labels_only.csv");
 * // n === 7049; 2140 rows have all 30 coordinates
 * ```
 */
export async function readKaggleLabels(path: string): Promise<KaggleLabels> {
  const parsed = await parseFile(path, { wantImages: false, limit: Infinity, capacity: 1024 });
  const n = parsed.n;
  return {
    n,
    keypoints: parsed.keypoints.slice(0, n * NUM_COORDS),
    mask: parsed.mask.slice(0, n * NUM_COORDS),
  };
}

/**
 * Writes a dataset in Kaggle's training format: a header of the 30 keypoint columns then `Image`, one row
 * per face, an empty cell for a missing coordinate, pixels as `round(v × 255)`. Coordinates are written
 * with the fewest digits that read back as the same float32, so read → write → read gives equal arrays.
 * The file is written in chunks to `path + ".tmp"` and renamed into place, so a reader never sees half a
 * file. `ids` are not written (the training format has no id column).
 *
 * @example
 * ```ts
 * import { syntheticDataset } from "./synthetic.ts";
 * await writeKaggleCsv("outputs/synthetic.csv", syntheticDataset({ n: 100 }));
 * ```
 */
export async function writeKaggleCsv(path: string, ds: KeypointDataset): Promise<void> {
  const coords = ds.n * NUM_COORDS;
  if (ds.images.length !== ds.n * PIXELS || ds.keypoints.length !== coords || ds.mask.length !== coords) {
    throw new DataError(
      `writeKaggleCsv: dataset ${ds.name} has ${ds.images.length} pixels, ${ds.keypoints.length} ` +
        `coordinates and ${ds.mask.length} mask entries for ${ds.n} faces`,
    );
  }
  await writeFileAtomicWith(path, async (file) => {
    const out = new ChunkWriter(file);
    await out.text(`${[...KEYPOINT_COLUMNS, "Image"].join(",")}\n`);
    for (let i = 0; i < ds.n; i++) {
      let kp = "";
      for (let c = 0; c < NUM_COORDS; c++) {
        const v = ds.keypoints[i * NUM_COORDS + c];
        // The mask is the truth about missingness; a masked-out value is written empty even if not NaN.
        kp += (Number.isNaN(v) || ds.mask[i * NUM_COORDS + c] === 0 ? "" : _float32String(v)) + ",";
      }
      await out.text(kp);
      await out.pixels(ds.images, i * PIXELS, ds.name, i);
      await out.byte(NEWLINE);
    }
    await out.flush();
  });
}

/**
 * Writes a Kaggle submission (`RowId,Location`) for the rows of `IdLookupTable.csv`
 * (`RowId,ImageId,FeatureName,Location`), in the table's order. Each value is the prediction for that
 * row's ImageId and feature, clipped to [0, 96] as Kaggle does.
 *
 * @param predictions `n × 30` coordinates in pixels, {@link KEYPOINT_COLUMNS} order.
 * @param imageIds the Kaggle ImageId of each of the `n` faces (e.g. `ds.ids` of `test.csv`).
 * @throws {DataError} when the table lacks a column, names an unknown feature, or an ImageId with no
 *   prediction; {@link UsageError} when the arrays disagree in size or an ImageId repeats.
 *
 * @example
 * ```ts
 * import { loadKeypointModel } from "../models/folder_io.ts";
 * const model = await loadKeypointModel("outputs/models/default");
 * const test = await readKaggleCsv("test.csv");
 * const predicted = await model.predict(test.images, test.n);
 * await writeSubmission("outputs/submission.csv", predicted, test.ids!, "IdLookupTable.csv");
 * ```
 */
export async function writeSubmission(
  path: string,
  predictions: Float32Array,
  imageIds: string[],
  lookupTablePath: string,
): Promise<void> {
  if (predictions.length !== imageIds.length * NUM_COORDS) {
    throw new UsageError(
      `writeSubmission: ${predictions.length} predicted values for ${imageIds.length} images ` +
        `(expected ${imageIds.length} × ${NUM_COORDS})`,
    );
  }
  const faceOf = new Map<string, number>();
  imageIds.forEach((id, i) => {
    if (faceOf.has(id)) throw new UsageError(`writeSubmission: ImageId ${id} appears twice in imageIds`);
    faceOf.set(id, i);
  });
  const featureOf = new Map(KEYPOINT_COLUMNS.map((name, c) => [name, c]));

  const table = Papa.parse<string[]>(stripBom(await Deno.readTextFile(lookupTablePath)), {
    skipEmptyLines: true,
  });
  const file = lookupTablePath;
  if (table.errors.length) {
    const e = table.errors[0];
    throw new DataError(e.message, { file, row: e.row === undefined ? undefined : e.row + 1 });
  }
  const [header = [], ...rows] = table.data;
  const col = (name: string) => {
    const k = header.findIndex((h) => h.trim() === name);
    if (k < 0) throw new DataError(`missing column ${name} (found: ${header.join(", ")})`, { file, row: 1 });
    return k;
  };
  const [rowIdCol, imageIdCol, featureCol] = [col("RowId"), col("ImageId"), col("FeatureName")];

  const lines = ["RowId,Location"];
  rows.forEach((fields, r) => {
    const row = r + 2;
    const imageId = fields[imageIdCol]?.trim() ?? "";
    const feature = fields[featureCol]?.trim() ?? "";
    const face = faceOf.get(imageId);
    if (face === undefined) {
      throw new DataError(`no prediction for ImageId ${JSON.stringify(imageId)}`, {
        file,
        row,
        column: "ImageId",
      });
    }
    const c = featureOf.get(feature);
    if (c === undefined) {
      throw new DataError(`unknown feature ${JSON.stringify(feature)}`, { file, row, column: "FeatureName" });
    }
    const v = predictions[face * NUM_COORDS + c];
    if (Number.isNaN(v)) {
      throw new UsageError(`writeSubmission: prediction for ImageId ${imageId} ${feature} is NaN`);
    }
    lines.push(`${fields[rowIdCol].trim()},${_float32String(Math.fround(Math.min(96, Math.max(0, v))))}`);
  });
  await writeFileAtomicWith(path, async (out) => {
    await writeAll(out, new TextEncoder().encode(lines.join("\n") + "\n"));
  });
}

/**
 * The shortest decimal text that reads back as the same float32 (e.g. `66.03356` rather than
 * `66.03356170654297`). Exported for the tests only (the leading `_`).
 */
export function _float32String(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  for (let p = 1; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s)); // normalises "1e+2" to "100"
  }
  return String(Number(v.toPrecision(9))); // 9 significant digits always round-trip a float32
}

// ---------------------------------------------------------------------------------------------------
// Reading

const NEWLINE = 10;
const CR = 13;
const QUOTE = 34;
const COMMA = 44;
const SPACE = 32;
const TAB = 9;
const CHUNK = 1 << 20;

/** `i / 255` for every byte value, so every reader maps a pixel value to the same float32. */
const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return Infinity;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new UsageError(`readKaggleCsv: limit must be a whole number ≥ 0, got ${limit}`);
  }
  return limit;
}

/** Counts the lines of a file (a last line without newline counts), stopping once `stopAt` is reached. */
async function countLines(path: string, stopAt: number): Promise<number> {
  const file = await openForReading(path);
  try {
    const buf = new Uint8Array(4 * CHUNK);
    let lines = 0;
    let last = NEWLINE;
    for (let got; lines < stopAt && (got = await file.read(buf)) !== null;) {
      const view = buf.subarray(0, got);
      for (let i = view.indexOf(NEWLINE); i >= 0; i = view.indexOf(NEWLINE, i + 1)) lines++;
      if (got > 0) last = view[got - 1];
    }
    return last === NEWLINE ? lines : lines + 1;
  } finally {
    file.close();
  }
}

async function openForReading(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new DataError("file not found", { file: path });
    throw e;
  }
}

/** One row of a CSV file: its bytes `buf[start, end)` (no line ending) and its 1-based line number. */
interface Row {
  buf: Uint8Array;
  start: number;
  end: number;
  line: number;
  /** Whether the row contains a `"`: then fields are split by the slower quote-aware tokenizer. */
  quoted: boolean;
}

/**
 * Yields the rows of a file one by one without holding more than a chunk (plus one row) in memory. The
 * yielded {@link Row} and its buffer are reused: use them before asking for the next row. A newline inside
 * a quoted field does not end the row. Blank lines are skipped.
 */
async function* readRows(path: string): AsyncGenerator<Row> {
  const file = await openForReading(path);
  try {
    const row: Row = { buf: new Uint8Array(CHUNK), start: 0, end: 0, line: 0, quoted: false };
    let len = 0; // bytes of row.buf holding data
    let pos = 0; // start of the next row
    let line = 1;
    let eof = false;
    let nextQuote = -2; // position of the next `"` at or after pos; -1: none in the buffer; -2: unknown
    let atStart = true;
    // Keeps the unfinished row, moves it to the front (growing the buffer for a long row), reads more.
    const refill = async () => {
      row.buf.copyWithin(0, pos, len);
      len -= pos;
      pos = 0;
      nextQuote = -2;
      if (len > row.buf.length / 2) {
        const bigger = new Uint8Array(row.buf.length * 2);
        bigger.set(row.buf.subarray(0, len));
        row.buf = bigger;
      }
      const got = await file.read(row.buf.subarray(len));
      if (got === null) eof = true;
      else len += got;
      if (atStart && (len >= 3 || eof)) {
        atStart = false;
        const b = row.buf;
        if (len >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) pos = 3; // UTF-8 byte order mark
      }
    };
    for (;;) {
      const buf = row.buf;
      const view = buf.subarray(0, len);
      let end = view.indexOf(NEWLINE, pos);
      if (end < 0) {
        if (!eof) {
          await refill();
          continue;
        }
        end = len; // the last row has no newline
      }
      if (nextQuote === -2 || (nextQuote >= 0 && nextQuote < pos)) nextQuote = view.indexOf(QUOTE, pos);
      const quoted = nextQuote >= 0 && nextQuote < end;
      let extraLines = 0;
      if (quoted) {
        // Rare: a quoted field. A newline after an odd number of `"` is inside quotes: the row goes on.
        let quotes = countByte(view, QUOTE, pos, end);
        while (quotes % 2 === 1 && end < len) {
          let next = view.indexOf(NEWLINE, end + 1);
          if (next < 0) next = eof ? len : -1;
          if (next < 0) break;
          quotes += countByte(view, QUOTE, end, next);
          end = next;
          extraLines++;
        }
        if (quotes % 2 === 1 && !eof) {
          await refill(); // rescan this row once more data is in
          continue;
        }
      }
      let stop = end;
      if (stop > pos && buf[stop - 1] === CR) stop--;
      if (stop > pos) {
        row.start = pos;
        row.end = stop;
        row.line = line;
        row.quoted = quoted;
        yield row;
      }
      line += 1 + extraLines;
      if (end >= len && eof) return;
      pos = end + 1;
    }
  } finally {
    file.close();
  }
}

function countByte(buf: Uint8Array, byte: number, from: number, to: number): number {
  let n = 0;
  for (let i = buf.indexOf(byte, from); i >= 0 && i < to; i = buf.indexOf(byte, i + 1)) n++;
  return n;
}

/**
 * Field boundaries of one row: field k is `buf[starts[k], ends[k])` with any surrounding quotes removed;
 * `escaped[k]` is true when it holds `""` escapes to undo. Reused across rows.
 */
class Fields {
  starts: number[] = [];
  ends: number[] = [];
  escaped: boolean[] = [];
  count = 0;

  /**
   * Splits a row. With `trustLast` = n (> 0), an unquoted row's n-th field is taken to run to the end of
   * the row without looking for more commas: this saves scanning the ≈35 KB `Image` field when it is
   * last. The caller must re-split without it before blaming that field's content.
   */
  split(row: Row, file: string, trustLast = 0): void {
    this.count = 0;
    const { buf, start, end } = row;
    if (!row.quoted) {
      // Fast path (every Kaggle row): native indexOf finds the commas.
      let s = start;
      for (;;) {
        let c = this.count === trustLast - 1 ? end : buf.indexOf(COMMA, s);
        if (c < 0 || c > end) c = end;
        this.push(s, c, false);
        if (c >= end) return;
        s = c + 1;
      }
    }
    let i = start;
    for (;;) {
      if (buf[i] === QUOTE) {
        let j = i + 1;
        let escaped = false;
        for (;;) {
          if (j >= end) {
            throw new DataError(`unterminated quoted field ${this.count + 1}`, { file, row: row.line });
          }
          if (buf[j] === QUOTE) {
            if (buf[j + 1] === QUOTE && j + 1 < end) {
              escaped = true;
              j += 2;
              continue;
            }
            break;
          }
          j++;
        }
        this.push(i + 1, j, escaped);
        i = j + 1;
        if (i < end && buf[i] !== COMMA) {
          throw new DataError(`unexpected text after the closing quote of field ${this.count}`, {
            file,
            row: row.line,
          });
        }
      } else {
        let c = buf.indexOf(COMMA, i);
        if (c < 0 || c > end) c = end;
        this.push(i, c, false);
        i = c;
      }
      if (i >= end) return;
      i++; // past the comma
      if (i === end) { // a trailing comma: one more, empty, field
        this.push(end, end, false);
        return;
      }
    }
  }

  text(buf: Uint8Array, k: number): string {
    const s = asciiText(buf, this.starts[k], this.ends[k]);
    return this.escaped[k] ? s.replaceAll('""', '"') : s;
  }

  private push(s: number, e: number, escaped: boolean): void {
    this.starts[this.count] = s;
    this.ends[this.count] = e;
    this.escaped[this.count] = escaped;
    this.count++;
  }
}

const utf8 = new TextDecoder();

/** Text of a short byte range (keypoint values, ids, header names). */
function asciiText(buf: Uint8Array, start: number, end: number): string {
  // A keypoint cell is a few ASCII bytes: building the string in JS is ≈10× cheaper than a TextDecoder
  // call (an op into Rust), which cost ≈0.3 s over the 211k cells of the Kaggle file.
  if (end - start > 64) return utf8.decode(buf.subarray(start, end));
  let s = "";
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b >= 128) return utf8.decode(buf.subarray(start, end));
    s += String.fromCharCode(b);
  }
  return s;
}

/** Which field holds what, from the header row. */
interface Layout {
  fieldCount: number;
  /** Field index of each of the 30 keypoint columns, or -1 for none (test format). */
  keypointFields: Int32Array;
  imageField: number;
  idField: number;
}

function parseHeader(row: Row, fields: Fields, file: string, wantImages: boolean): Layout {
  fields.split(row, file);
  const names = Array.from({ length: fields.count }, (_, k) => fields.text(row.buf, k).trim());
  const where = { file, row: row.line };
  const seen = new Set<string>();
  for (const name of names) {
    if (name && seen.has(name)) throw new DataError(`column ${name} appears twice in the header`, where);
    seen.add(name);
  }
  const keypointFields = Int32Array.from(KEYPOINT_COLUMNS, (c) => names.indexOf(c));
  const found = keypointFields.filter((k) => k >= 0).length;
  const imageField = names.indexOf("Image");
  const idField = names.indexOf("ImageId");
  const header = names.length > 8
    ? `${names.slice(0, 8).join(",")},… (${names.length} columns)`
    : names.join(",");
  if (wantImages && imageField < 0) {
    throw new DataError(`missing column Image (header: ${header})`, { ...where, column: "Image" });
  }
  if (found > 0 && found < NUM_COORDS) {
    const missing = KEYPOINT_COLUMNS.filter((_, c) => keypointFields[c] < 0);
    throw new DataError(`missing keypoint column(s) ${missing.join(", ")}`, { ...where, column: missing[0] });
  }
  if (found === 0 && (!wantImages || idField < 0)) {
    throw new DataError(
      `unknown layout: expected the 30 keypoint columns (${KEYPOINT_COLUMNS[0]}, …)` +
        (wantImages ? " and Image, or ImageId and Image" : "") + `; header: ${header}`,
      where,
    );
  }
  return { fieldCount: names.length, keypointFields, imageField: wantImages ? imageField : -1, idField };
}

interface Parsed {
  n: number;
  images?: Float32Array;
  keypoints: Float32Array;
  mask: Uint8Array;
  ids: string[];
}

/** Streams the rows of a Kaggle file into typed arrays sized for `capacity` faces (grown if exceeded). */
async function parseFile(
  path: string,
  opts: { wantImages: boolean; limit: number; capacity: number },
): Promise<Parsed> {
  const fields = new Fields();
  let layout: Layout | undefined;
  let cap = Math.max(1, opts.capacity);
  let images = opts.wantImages ? new Float32Array(cap * PIXELS) : undefined;
  let keypoints = new Float32Array(cap * NUM_COORDS);
  let mask = new Uint8Array(cap * NUM_COORDS);
  const ids: string[] = [];
  let n = 0;
  for await (const row of readRows(path)) {
    if (!layout) {
      layout = parseHeader(row, fields, path, opts.wantImages);
      continue;
    }
    if (n >= opts.limit) break;
    const imageLast = layout.imageField >= 0 && layout.imageField === layout.fieldCount - 1;
    fields.split(row, path, imageLast ? layout.fieldCount : 0);
    checkFieldCount(fields, layout, path, row.line);
    if (n === cap) {
      cap *= 2;
      keypoints = grow(keypoints, cap * NUM_COORDS);
      mask = grow(mask, cap * NUM_COORDS);
      if (images) images = grow(images, cap * PIXELS);
    }
    const kpOffset = n * NUM_COORDS;
    for (let c = 0; c < NUM_COORDS; c++) {
      const k = layout.keypointFields[c];
      const v = k < 0 ? NaN : parseKeypoint(fields.text(row.buf, k), path, row.line, c);
      keypoints[kpOffset + c] = v;
      mask[kpOffset + c] = Number.isNaN(v) ? 0 : 1;
    }
    if (layout.idField >= 0) {
      const id = fields.text(row.buf, layout.idField).trim();
      if (!id) throw new DataError("empty ImageId", { file: path, row: row.line, column: "ImageId" });
      ids.push(id);
    }
    if (images) {
      const f = layout.imageField;
      const offset = n * PIXELS;
      if (parsePixelsFast(row.buf, fields.starts[f], fields.ends[f], images, offset) !== PIXELS) {
        if (imageLast) { // the last field was not scanned for commas: check the field count first
          fields.split(row, path);
          checkFieldCount(fields, layout, path, row.line);
        }
        parsePixelsSlow(row.buf, fields.starts[f], fields.ends[f], images, offset, path, row.line);
      }
    }
    n++;
  }
  if (!layout) throw new DataError("empty file: no header row", { file: path });
  return { n, images, keypoints, mask, ids };
}

function checkFieldCount(fields: Fields, layout: Layout, file: string, row: number): void {
  if (fields.count !== layout.fieldCount) {
    throw new DataError(`expected ${layout.fieldCount} fields, found ${fields.count}`, { file, row });
  }
}

function grow<T extends Float32Array | Uint8Array>(a: T, length: number): T {
  const b = new (a.constructor as { new (n: number): T })(length);
  b.set(a);
  return b;
}

function parseKeypoint(text: string, file: string, row: number, c: number): number {
  const t = text.trim();
  if (t === "" || t.toLowerCase() === "nan") return NaN; // missing
  const v = Number(t);
  if (!Number.isFinite(v)) {
    throw new DataError(`keypoint value ${JSON.stringify(t)} is not a number`, {
      file,
      row,
      column: KEYPOINT_COLUMNS[c],
    });
  }
  checkInFrame(v, IMAGE_SIZE, IMAGE_SIZE, { file, row, column: KEYPOINT_COLUMNS[c] });
  return v;
}

/**
 * The hot loop: bytes to numbers with no strings and no `split`, for integers separated by single spaces.
 * Unrolled for the 1–3 digit values a pixel has (≈30% faster than a byte-at-a-time state machine), and
 * free of error handling so that V8 optimises it well. Returns the count of values, or -1 at anything
 * else (another byte, a value over 255, too many values), leaving the judgement to
 * {@link parsePixelsSlow}.
 */
function parsePixelsFast(
  buf: Uint8Array,
  start: number,
  end: number,
  out: Float32Array,
  offset: number,
): number {
  let count = 0;
  let i = start;
  const last = end - 4; // while i <= last, reading buf[i..i+3] stays inside the field
  while (i <= last) {
    if (count === PIXELS) return -1;
    const d0 = buf[i] - 48;
    if (d0 >>> 0 > 9) return -1; // not a digit (negative differences wrap to huge unsigned values)
    const b1 = buf[i + 1];
    if (b1 === SPACE) {
      out[offset + count++] = BYTE_TO_UNIT[d0];
      i += 2;
      continue;
    }
    const d1 = b1 - 48;
    if (d1 >>> 0 > 9) return -1;
    const b2 = buf[i + 2];
    if (b2 === SPACE) {
      out[offset + count++] = BYTE_TO_UNIT[d0 * 10 + d1];
      i += 3;
      continue;
    }
    const d2 = b2 - 48;
    if (d2 >>> 0 > 9 || buf[i + 3] !== SPACE) return -1;
    const v = d0 * 100 + d1 * 10 + d2;
    if (v > 255) return -1;
    out[offset + count++] = BYTE_TO_UNIT[v];
    i += 4;
  }
  // The last value or two, byte by byte.
  let value = 0;
  let digits = 0;
  for (; i < end; i++) {
    const b = buf[i];
    if (b === SPACE) {
      if (digits === 0 || value > 255 || count === PIXELS) return -1;
      out[offset + count++] = BYTE_TO_UNIT[value];
      value = 0;
      digits = 0;
    } else {
      const d = b - 48;
      if (d >>> 0 > 9) return -1;
      value = value * 10 + d;
      digits++;
    }
  }
  if (digits !== 0) {
    if (value > 255 || count === PIXELS) return -1;
    out[offset + count++] = BYTE_TO_UNIT[value];
  }
  return count;
}

/**
 * The careful path for a field the fast loop refused: accepts any number in 0..255 (`12.0`, `1e2`) and
 * tabs or repeated spaces between values; anything else is a {@link DataError} naming the value and its
 * position.
 */
function parsePixelsSlow(
  buf: Uint8Array,
  start: number,
  end: number,
  out: Float32Array,
  offset: number,
  file: string,
  row: number,
): void {
  let count = 0;
  for (let i = start; i < end;) {
    const b = buf[i];
    if (b === SPACE || b === TAB) {
      i++;
      continue;
    }
    let e = i;
    while (e < end && buf[e] !== SPACE && buf[e] !== TAB) e++;
    const v = Number(asciiText(buf, i, e));
    if (!Number.isFinite(v)) pixelError(buf, i, e, count, file, row, "is not a number");
    if (v < 0 || v > 255) pixelError(buf, i, e, count, file, row, "is outside 0..255");
    if (count < PIXELS) out[offset + count] = v / 255;
    count++;
    i = e;
  }
  if (count !== PIXELS) {
    throw new DataError(`found ${count} pixel values, expected ${PIXELS} (96 × 96)`, {
      file,
      row,
      column: "Image",
    });
  }
}

function pixelError(
  buf: Uint8Array,
  start: number,
  end: number,
  index: number,
  file: string,
  row: number,
  problem: string,
): never {
  let text = asciiText(buf, start, Math.min(end, start + 24));
  if (end - start > 24) text += "…";
  throw new DataError(`pixel value ${JSON.stringify(text)} at position ${index + 1} ${problem}`, {
    file,
    row,
    column: "Image",
  });
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

// ---------------------------------------------------------------------------------------------------
// Writing

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  for (let done = 0; done < data.length;) done += await file.write(data.subarray(done));
}

/** Decimal digits of 0..255 followed by a space, as bytes, for the pixel writer. */
const PIXEL_TEXT: Uint8Array[] = Array.from({ length: 256 }, (_, v) => new TextEncoder().encode(`${v} `));

/** Buffers output bytes and writes them to the file a chunk at a time. */
class ChunkWriter {
  #buf = new Uint8Array(CHUNK);
  #len = 0;
  #encoder = new TextEncoder();
  constructor(private file: Deno.FsFile) {}

  /** Appends a short string (a header, a row's keypoints): it always fits after a flush. */
  async text(s: string): Promise<void> {
    if (this.#len + s.length * 3 > this.#buf.length) await this.flush();
    this.#len += this.#encoder.encodeInto(s, this.#buf.subarray(this.#len)).written;
  }

  async byte(b: number): Promise<void> {
    if (this.#len + 1 > this.#buf.length) await this.flush();
    this.#buf[this.#len++] = b;
  }

  /** Writes one face's pixels as `round(v × 255)` separated by spaces (no trailing space). */
  async pixels(images: Float32Array, offset: number, name: string, face: number): Promise<void> {
    if (this.#len + PIXELS * 4 > this.#buf.length) await this.flush();
    const buf = this.#buf;
    let len = this.#len;
    for (let p = 0; p < PIXELS; p++) {
      const v = images[offset + p];
      if (!(v >= 0 && v <= 1)) {
        throw new DataError(
          `writeKaggleCsv: dataset ${name}, face ${face}: pixel ${p} is ${v}, not in [0, 1]`,
        );
      }
      const t = PIXEL_TEXT[Math.round(v * 255)];
      for (let k = 0; k < t.length; k++) buf[len + k] = t[k];
      len += t.length;
    }
    this.#len = len - 1; // drop the last space
  }

  async flush(): Promise<void> {
    await writeAll(this.file, this.#buf.subarray(0, this.#len));
    this.#len = 0;
  }
}
