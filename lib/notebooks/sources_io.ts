/**
 * The notebook sources of the repository: `notebooks/NN_name.ts` (percent format) and the committed
 * `notebooks/NN_name.ipynb` built from each. Used by `deno task notebooks` and by the test that fails when
 * a committed notebook and its source disagree.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DataError } from "../core/errors.ts";
import { buildNotebook, cellText, type Notebook } from "./ipynb.ts";
import { parsePercent, type SourceCell, toPercent } from "./percent.ts";

/** The repository's `notebooks/` folder. */
export const NOTEBOOKS_DIR: string = fileURLToPath(new URL("../../notebooks", import.meta.url));

/** The notebook source files (`NN_name.ts`) in run order. */
export function listSources(dir = NOTEBOOKS_DIR): string[] {
  return [...Deno.readDirSync(dir)].filter((e) => e.isFile && /^\d+_.*\.ts$/.test(e.name)).map((e) => e.name)
    .sort();
}

/** `03_train_lenet.ts` → `03_train_lenet.ipynb`. */
export function notebookFileOf(source: string): string {
  return source.replace(/\.ts$/, ".ipynb");
}

/** The notebook built (unexecuted) from `notebooks/<source>`. */
export async function buildFromSource(source: string, dir = NOTEBOOKS_DIR): Promise<Notebook> {
  const text = await Deno.readTextFile(join(dir, source));
  return buildNotebook(parsePercent(text, `notebooks/${source}`), `notebooks/${source}`);
}

/** Reads a `.ipynb` file; a `DataError` names the file where it is not a notebook. */
export async function readNotebook(path: string): Promise<Notebook> {
  let nb: Notebook;
  try {
    nb = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new DataError(`cannot read the notebook: ${(e as Error).message}`, { file: path });
  }
  if (!Array.isArray(nb?.cells)) throw new DataError("not a Jupyter notebook (no cells)", { file: path });
  return nb;
}

/**
 * The source text for a notebook edited in Jupyter: its cells without the generated header cell, in
 * percent format, keeping `header` (the source file's text before its first cell marker).
 */
export function sourceFromNotebook(nb: Notebook, header = ""): string {
  const cells: SourceCell[] = nb.cells.slice(1)
    .filter((c) => c.cell_type === "code" || c.cell_type === "markdown")
    .map((c) => ({ kind: c.cell_type as SourceCell["kind"], source: cellText(c) }));
  return toPercent(cells, header);
}

/** The text of a source file before its first `// %%` marker (file comments, lint directives). */
export function sourceHeader(text: string): string {
  const at = text.search(/^\/\/ %%/m);
  return at < 0 ? "" : text.slice(0, at);
}
