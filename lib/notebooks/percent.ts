/**
 * Notebook sources as TypeScript text in jupytext's "percent" format, so that `deno fmt`, `deno lint` and
 * `deno check` read them like any module. A source in `notebooks/` (so not type-checked from here):
 *
 * ```ts ignore
 * // %% [markdown]
 * // # 1 · Exploring the data
 * //
 * // Prose, one `// ` comment line per markdown line.
 *
 * // %%
 * import { setupNotebook } from "../lib/notebook.ts";
 * const nb = await setupNotebook("01");
 * nb;
 * ```
 *
 * Lines before the first `// %%` marker (a file comment, lint directives) belong to the file, not to the
 * notebook. Blank lines at either end of a cell are dropped.
 *
 * @module
 */
import { DataError } from "../core/errors.ts";

/** One notebook cell as text. */
export interface SourceCell {
  kind: "code" | "markdown";
  /** The cell's text without the markers (markdown without its `// ` prefixes). */
  source: string;
}

const MARKER = /^\/\/ %%(?:\s+\[(\w+)\])?\s*$/;

/** The lines without blank lines at either end, and how many were dropped at the start. */
function trimBlankLines(lines: string[]): { body: string[]; dropped: number } {
  let start = 0, end = lines.length;
  while (start < end && lines[start].trim() === "") start++;
  while (end > start && lines[end - 1].trim() === "") end--;
  return { body: lines.slice(start, end), dropped: start };
}

/**
 * Splits a percent-format file into cells.
 *
 * @throws {DataError} naming the file and line of an unknown cell type or a markdown line that is not a
 *   `//` comment, or when the file has no cell at all.
 *
 * @example
 * ```ts
 * const cells = parsePercent("// %% [markdown]\n// # Title\n\n// %%\n1 + 1;\n", "example.ts");
 * // [{ kind: "markdown", source: "# Title" }, { kind: "code", source: "1 + 1;" }]
 * ```
 */
export function parsePercent(text: string, file: string): SourceCell[] {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  const cells: SourceCell[] = [];
  let current: { kind: SourceCell["kind"]; lines: string[]; line: number } | null = null;
  const flush = () => {
    if (!current) return;
    const { body, dropped } = trimBlankLines(current.lines);
    if (current.kind === "markdown") {
      const first = current.line + 1 + dropped; // 1-based line of body[0]
      body.forEach((l, i) => {
        if (l.trim() !== "" && !/^\s*\/\/( |$)/.test(l)) {
          throw new DataError(`a markdown cell line must be a "// " comment: ${JSON.stringify(l)}`, {
            file,
            row: first + i,
          });
        }
        body[i] = l.replace(/^\s*\/\/ ?/, "");
      });
    }
    cells.push({ kind: current.kind, source: body.join("\n") });
  };
  lines.forEach((line, i) => {
    const m = MARKER.exec(line);
    if (!m) {
      current?.lines.push(line);
      return;
    }
    flush();
    const type = m[1] ?? "code";
    if (type !== "markdown" && type !== "md" && type !== "code") {
      throw new DataError(`unknown cell type [${type}] (expected [markdown] or none)`, { file, row: i + 1 });
    }
    current = { kind: type === "code" ? "code" : "markdown", lines: [], line: i + 1 };
  });
  flush();
  if (cells.length === 0) {
    throw new DataError("no `// %%` cell marker: not a percent-format notebook", { file });
  }
  return cells;
}

/**
 * The percent-format text of cells (the inverse of {@link parsePercent}; `header` is the text kept before
 * the first marker). For turning a notebook edited in Jupyter back into its source.
 */
export function toPercent(cells: readonly SourceCell[], header = ""): string {
  const parts = cells.map((c) =>
    c.kind === "markdown"
      ? `// %% [markdown]\n${c.source.split("\n").map((l) => (l === "" ? "//" : `// ${l}`)).join("\n")}`
      : `// %%\n${c.source}`
  );
  return `${header.trim() ? `${header.trim()}\n\n` : ""}${parts.join("\n\n")}\n`;
}
