/**
 * The `.ipynb` side of the notebooks: building a notebook (Deno kernel) from its percent-format source,
 * checking that a committed notebook still matches its source and was not edited by hand, and keeping
 * committed outputs small.
 *
 * Every built notebook starts with a markdown cell that says how it is made and which file to edit, and
 * carries in its metadata the source file and a hash of its cells, so that an edit made in Jupyter is
 * noticed before a write-back would overwrite it.
 *
 * @example
 * ```ts
 * import { parsePercent } from "./percent.ts";
 * const text = "// %% [markdown]\n// # Title\n\n// %%\n1 + 1;\n";
 * const nb = buildNotebook(parsePercent(text, "notebooks/00_demo.ts"), "notebooks/00_demo.ts");
 * nb.cells.length; // 3: the header cell, the title, the code
 * ```
 *
 * @module
 */
import type { SourceCell } from "./percent.ts";

/** The file name of a `/`-separated path (pure: this module runs in a browser too). */
function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** One output of a code cell, as nbformat stores it. */
export interface NotebookOutput {
  output_type: string;
  data?: Record<string, unknown>;
  [key: string]: unknown;
}

/** One cell, as nbformat 4 stores it (`source` as a string or a list of lines). */
export interface NotebookCell {
  cell_type: "code" | "markdown" | "raw";
  id?: string;
  metadata: Record<string, unknown>;
  source: string | string[];
  outputs?: NotebookOutput[];
  execution_count?: number | null;
}

/** A notebook, as nbformat 4 stores it. */
export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown> & { fkd?: NotebookProvenance };
  cells: NotebookCell[];
}

/** What a built notebook records about where it came from (`metadata.fkd`). */
export interface NotebookProvenance {
  /** The source file, relative to the repository root. */
  source: string;
  /** {@link cellsHash} of the cells as built: differs from the cells' own hash once edited by hand. */
  cellsHash: string;
  /** `quick` or `full` once executed; `none` as built. */
  mode: "quick" | "full" | "none";
}

const KERNEL_METADATA = {
  kernelspec: { name: "deno", display_name: "Deno", language: "typescript" },
  language_info: {
    name: "typescript",
    file_extension: ".ts",
    mimetype: "text/x.typescript",
    codemirror_mode: "typescript",
    pygments_lexer: "typescript",
  },
};

/** The text of a cell's source (nbformat may store it as a list of lines). */
export function cellText(cell: Pick<NotebookCell, "source">): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** The first cell of every built notebook: how it is made and which file to edit. */
export function headerCell(sourcePath: string): SourceCell {
  const file = basename(sourcePath);
  return {
    kind: "markdown",
    source: [
      `> **Made from [\`${sourcePath}\`](${file})** by \`deno task notebooks\`. Edit that file, not this`,
      `> notebook: \`deno fmt\`, \`deno lint\` and \`deno check\` cover it, and \`deno task test\` fails where`,
      "> the two disagree. `deno task notebooks --quick` runs it into `outputs/notebooks/`; `--write-back`",
      "> saves the run here (see the README).",
    ].join("\n"),
  };
}

/** A hash of the cells' kinds and texts (outputs and ids ignored). */
export function cellsHash(cells: readonly Pick<NotebookCell, "cell_type" | "source">[]): string {
  // Two 32-bit FNV-1a hashes with different offsets: enough to notice an edit (not a security check).
  let a = 0x811c9dc5, b = 0x01000193 ^ 0x5bd1e995;
  const text = cells.map((c) => `${c.cell_type}\u0000${cellText(c)}`).join("\u0001");
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/**
 * The notebook of a source's cells, unexecuted, with the header cell first. Cell ids are fixed
 * (`<prefix>-<index>`) so that building twice gives the same file.
 */
export function buildNotebook(cells: readonly SourceCell[], sourcePath: string): Notebook {
  const prefix = basename(sourcePath).slice(0, 2);
  const all = [headerCell(sourcePath), ...cells];
  const built: NotebookCell[] = all.map((c, i) =>
    c.kind === "markdown"
      ? {
        cell_type: "markdown",
        id: `${prefix}-${String(i).padStart(2, "0")}`,
        metadata: {},
        source: c.source,
      }
      : {
        cell_type: "code",
        id: `${prefix}-${String(i).padStart(2, "0")}`,
        metadata: {},
        source: c.source,
        outputs: [],
        execution_count: null,
      }
  );
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { ...KERNEL_METADATA, fkd: { source: sourcePath, cellsHash: cellsHash(built), mode: "none" } },
    cells: built,
  };
}

/** Where a notebook and the one built from its source disagree, or null when they agree. */
export function sourceMismatch(committed: Notebook, built: Notebook): string | null {
  const a = committed.cells, b = built.cells;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (!a[i] || !b[i]) {
      return `the notebook has ${a.length} cells, its source makes ${b.length}`;
    }
    if (a[i].cell_type !== b[i].cell_type || cellText(a[i]) !== cellText(b[i])) {
      const first = (cellText(b[i]).split("\n")[0] ?? "").slice(0, 60);
      return `cell ${i + 1} differs (${b[i].cell_type} cell starting ${JSON.stringify(first)})`;
    }
  }
  return null;
}

/**
 * True where a notebook's cells were changed after it was built (in Jupyter, by hand): its cells no
 * longer have the hash it was built with. A notebook with no provenance counts as edited.
 */
export function editedByHand(nb: Notebook): boolean {
  return nb.metadata.fkd?.cellsHash !== cellsHash(nb.cells);
}

/** Options of {@link slimOutputs}. */
export interface SlimOptions {
  /** MIME types dropped from an output that also has `image/png` (default: the plotly JSON). */
  dropBesidePng?: readonly string[];
}

/**
 * Makes a notebook fit for committing: an output with a PNG loses its interactive plotly JSON (the figure's
 * HTML is in `outputs/figures/`), so figures show as PNG on GitHub and the file stays small. Returns a new
 * notebook; `nb` is not changed.
 */
export function slimOutputs(nb: Notebook, opts: SlimOptions = {}): Notebook {
  const drop = opts.dropBesidePng ?? ["application/vnd.plotly.v1+json"];
  return {
    ...nb,
    cells: nb.cells.map((cell) => {
      if (!cell.outputs) return cell;
      return {
        ...cell,
        outputs: cell.outputs.map((out) => {
          if (!out.data || !("image/png" in out.data)) return out;
          const data = Object.fromEntries(Object.entries(out.data).filter(([k]) => !drop.includes(k)));
          return { ...out, data };
        }),
      };
    }),
  };
}

/** The largest output of a notebook in bytes of JSON, and which cell holds it. */
export function largestOutput(nb: Notebook): { cell: number; bytes: number } {
  let best = { cell: 0, bytes: 0 };
  nb.cells.forEach((cell, i) => {
    for (const out of cell.outputs ?? []) {
      const bytes = JSON.stringify(out).length;
      if (bytes > best.bytes) best = { cell: i + 1, bytes };
    }
  });
  return best;
}

/** The notebook as nbformat writes it (one-space indent, trailing newline), for stable diffs. */
export function notebookJson(nb: Notebook): string {
  return JSON.stringify(nb, null, 1) + "\n";
}
