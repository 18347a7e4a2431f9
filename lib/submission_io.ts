/**
 * A Kaggle competition submission from a trained model: predict every face of Kaggle's `test.csv`
 * (`ImageId,Image`), then write the rows `IdLookupTable.csv` asks for (`RowId,Location`).
 *
 * `IdLookupTable.csv` is Kaggle's competition data (not shipped here): it is looked for in `data/`, then in
 * `../shared/data/kaggle/` beside the checkout, unless a path is given.
 *
 * @example
 * ```ts
 * await makeSubmission({ model: "outputs/models/default", test: "data/test.csv", out: "submission.csv" });
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readKaggleCsv, writeSubmission } from "./data/kaggle_io.ts";
import { UsageError } from "./core/errors.ts";
import { loadKeypointModel } from "./models/folder_io.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Where `IdLookupTable.csv` is looked for, in order. */
export const LOOKUP_TABLE_PLACES: readonly string[] = [
  join(ROOT, "data", "IdLookupTable.csv"),
  join(ROOT, "..", "shared", "data", "kaggle", "IdLookupTable.csv"),
];

/** The first of {@link LOOKUP_TABLE_PLACES} that exists; throws `UsageError` saying where to put it. */
export function findLookupTable(places: readonly string[] = LOOKUP_TABLE_PLACES): string {
  for (const p of places) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* next place */ }
  }
  throw new UsageError(
    `no IdLookupTable.csv (looked in ${places.join(", ")}): download it from the Kaggle competition ` +
      "into data/ or pass --lookup PATH",
  );
}

/** Options of {@link makeSubmission}. */
export interface SubmissionOptions {
  /** Model folder (as written by `deno task train`). */
  model: string;
  /** Kaggle's `test.csv`. */
  test: string;
  /** The submission file to write (atomically). */
  out: string;
  /** `IdLookupTable.csv`; default: {@link findLookupTable}. */
  lookup?: string;
}

/** What {@link makeSubmission} did. */
export interface SubmissionSummary {
  model: string;
  faces: number;
  rows: number;
  lookup: string;
  out: string;
}

/** Predicts the faces of `test` with `model` and writes the submission (see the module doc). */
export async function makeSubmission(opts: SubmissionOptions): Promise<SubmissionSummary> {
  const lookup = opts.lookup ?? findLookupTable();
  const model = await loadKeypointModel(opts.model);
  try {
    const test = await readKaggleCsv(opts.test);
    const predicted = await model.predict(test.images, test.n);
    await writeSubmission(opts.out, predicted, test.ids!, lookup);
    const rows = (await Deno.readTextFile(opts.out)).trimEnd().split("\n").length - 1;
    return { model: model.name, faces: test.n, rows, lookup, out: opts.out };
  } finally {
    model.model.dispose();
  }
}
