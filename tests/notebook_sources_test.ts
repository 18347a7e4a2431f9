import assert from "node:assert/strict";
import { join } from "node:path";
import { DataError } from "../lib/core/errors.ts";
import {
  buildNotebook,
  cellsHash,
  cellText,
  editedByHand,
  largestOutput,
  type Notebook,
  slimOutputs,
  sourceMismatch,
} from "../lib/notebooks/ipynb.ts";
import { parsePercent, toPercent } from "../lib/notebooks/percent.ts";
import {
  buildFromSource,
  listSources,
  notebookFileOf,
  NOTEBOOKS_DIR,
  readNotebook,
  sourceFromNotebook,
  sourceHeader,
} from "../lib/notebooks/sources_io.ts";
import { handEditedNotebooks, parseNotebookArgs } from "../cli/notebooks.ts";
import { UsageError } from "../lib/core/errors.ts";

const SOURCE = `// deno-lint-ignore-file
// A file comment that is not a cell.

// %% [markdown]
// # Title
//
// Some *prose*.

// %%
const x = 6 * 7;
x;


// %%
console.log(x);
`;

Deno.test("parsePercent: markdown and code cells, markers and blank edges dropped, header kept out", () => {
  const cells = parsePercent(SOURCE, "demo.ts");
  assert.deepEqual(cells, [
    { kind: "markdown", source: "# Title\n\nSome *prose*." },
    { kind: "code", source: "const x = 6 * 7;\nx;" },
    { kind: "code", source: "console.log(x);" },
  ]);
  assert.equal(sourceHeader(SOURCE), "// deno-lint-ignore-file\n// A file comment that is not a cell.\n\n");
});

Deno.test("toPercent is the inverse of parsePercent", () => {
  const cells = parsePercent(SOURCE, "demo.ts");
  const text = toPercent(cells, sourceHeader(SOURCE));
  assert.deepEqual(parsePercent(text, "again.ts"), cells);
  assert.ok(text.startsWith("// deno-lint-ignore-file\n"));
});

Deno.test("parsePercent: errors name the file and line", () => {
  assert.throws(
    () => parsePercent("// %% [markdown]\n// fine\nnot a comment\n", "nb.ts"),
    (e) =>
      e instanceof DataError &&
      /nb\.ts, row 3: a markdown cell line must be a "\/\/ " comment/.test(e.message),
  );
  assert.throws(() => parsePercent("// %% [raw]\nx\n", "nb.ts"), /nb\.ts, row 1: unknown cell type \[raw\]/);
  assert.throws(() => parsePercent("const x = 1;\n", "nb.ts"), /no `\/\/ %%` cell marker/);
});

Deno.test("buildNotebook: a header cell naming the source first, fixed ids, Deno kernel, provenance", () => {
  const nb = buildNotebook(parsePercent(SOURCE, "notebooks/07_demo.ts"), "notebooks/07_demo.ts");
  assert.equal(nb.cells.length, 4);
  assert.equal(nb.cells[0].cell_type, "markdown");
  assert.match(cellText(nb.cells[0]), /Made from \[`notebooks\/07_demo\.ts`\]\(07_demo\.ts\)/);
  assert.match(cellText(nb.cells[0]), /Edit that file, not this/);
  assert.deepEqual(nb.cells.map((c) => c.id), ["07-00", "07-01", "07-02", "07-03"]);
  assert.deepEqual(nb.cells[2].outputs, []);
  assert.equal((nb.metadata.kernelspec as { name: string }).name, "deno");
  assert.equal(nb.metadata.fkd?.source, "notebooks/07_demo.ts");
  assert.equal(editedByHand(nb), false);
  // Building twice gives the same notebook.
  assert.deepEqual(buildNotebook(parsePercent(SOURCE, "x"), "notebooks/07_demo.ts"), nb);
});

Deno.test("sourceMismatch and editedByHand: a changed cell is found, outputs do not count", () => {
  const built = buildNotebook(parsePercent(SOURCE, "x"), "notebooks/07_demo.ts");
  const executed: Notebook = structuredClone(built);
  executed.cells[2].outputs = [{ output_type: "execute_result", data: { "text/plain": "42" } }];
  // nbformat stores sources as lists of lines.
  executed.cells[2].source = ["const x = 6 * 7;\n", "x;"];
  assert.equal(sourceMismatch(executed, built), null);
  assert.equal(editedByHand(executed), false);

  const edited: Notebook = structuredClone(executed);
  edited.cells[2].source = "const x = 7 * 7;\nx;";
  assert.match(sourceMismatch(edited, built)!, /cell 3 differs \(code cell starting "const x = 6 \* 7;"\)/);
  assert.equal(editedByHand(edited), true);
  const shorter: Notebook = structuredClone(executed);
  shorter.cells.pop();
  assert.match(sourceMismatch(shorter, built)!, /3 cells, its source makes 4/);
  assert.notEqual(cellsHash(edited.cells), cellsHash(built.cells));
});

Deno.test("sourceFromNotebook: a notebook edited in Jupyter becomes its source again (header cell left out)", () => {
  const built = buildNotebook(parsePercent(SOURCE, "x"), "notebooks/07_demo.ts");
  built.cells[1].source = "# A better title";
  const text = sourceFromNotebook(built, sourceHeader(SOURCE));
  const cells = parsePercent(text, "x");
  assert.equal(cells.length, 3);
  assert.equal(cells[0].source, "# A better title");
});

Deno.test("slimOutputs: a figure keeps its PNG and loses the plotly JSON; other outputs are untouched", () => {
  const nb = buildNotebook(parsePercent(SOURCE, "x"), "notebooks/07_demo.ts");
  const plotly = { data: [{ type: "scatter", x: Array(5000).fill(1) }], layout: {} };
  nb.cells[2].outputs = [
    {
      output_type: "execute_result",
      data: { "application/vnd.plotly.v1+json": plotly, "image/png": "iVBOR", "text/plain": "fig" },
    },
    {
      output_type: "display_data",
      data: { "application/vnd.plotly.v1+json": plotly, "text/html": "<b>x</b>" },
    },
  ];
  const slim = slimOutputs(nb);
  assert.deepEqual(Object.keys(slim.cells[2].outputs![0].data!), ["image/png", "text/plain"]);
  assert.ok("application/vnd.plotly.v1+json" in slim.cells[2].outputs![1].data!, "no PNG: keep the figure");
  assert.ok("application/vnd.plotly.v1+json" in nb.cells[2].outputs![0].data!, "the input is not changed");
  assert.equal(largestOutput(nb).cell, 3);
  assert.ok(largestOutput(slim).bytes < largestOutput(nb).bytes);
});

Deno.test("parseNotebookArgs: --write-back, --full, --force and --import", () => {
  assert.equal(parseNotebookArgs(["--quick"]).writeBack, false, "quick mode never writes back by itself");
  const a = parseNotebookArgs(["--full", "--write-back", "--force", "03"]);
  assert.deepEqual([a.quick, a.writeBack, a.force, a.names], [false, true, true, ["03"]]);
  assert.equal(parseNotebookArgs(["--import", "03"]).importEdits, true);
  assert.throws(() => parseNotebookArgs(["--quick", "--full"]), UsageError);
  assert.throws(() => parseNotebookArgs(["--force"]), /only applies to --write-back/);
  assert.throws(() => parseNotebookArgs(["--import"]), /needs the notebooks/);
  assert.throws(() => parseNotebookArgs(["--import", "--quick", "03"]), /runs nothing/);
});

Deno.test("handEditedNotebooks: a notebook edited in Jupyter is not overwritten by a write-back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nb_sources_test_" });
  try {
    await Deno.writeTextFile(join(dir, "07_demo.ts"), SOURCE);
    const built = await buildFromSource("07_demo.ts", dir);
    await Deno.writeTextFile(join(dir, "07_demo.ipynb"), JSON.stringify(built));
    assert.deepEqual(await handEditedNotebooks(["07_demo.ts"], dir), []);
    built.cells[2].source = "const x = 1;";
    await Deno.writeTextFile(join(dir, "07_demo.ipynb"), JSON.stringify(built));
    const [problem] = await handEditedNotebooks(["07_demo.ts"], dir);
    assert.match(problem, /07_demo\.ipynb was edited in Jupyter.*--import 07.*--force/);
    const { fkd: _, ...untracked } = built.metadata;
    await Deno.writeTextFile(join(dir, "07_demo.ipynb"), JSON.stringify({ ...built, metadata: untracked }));
    const [legacy] = await handEditedNotebooks(["07_demo.ts"], dir);
    assert.match(legacy, /was not built from notebooks\/07_demo\.ts.*--force/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// The committed notebooks.

const SOURCES = listSources();

Deno.test("every notebook source has its committed notebook", () => {
  assert.deepEqual(SOURCES.map((s) => s.slice(0, 2)), ["01", "02", "03", "04", "05"]);
  const committed = [...Deno.readDirSync(NOTEBOOKS_DIR)].map((e) => e.name).filter((n) =>
    n.endsWith(".ipynb")
  );
  assert.deepEqual(committed.sort(), SOURCES.map(notebookFileOf));
});

for (const source of SOURCES) {
  Deno.test(`notebooks/${notebookFileOf(source)} agrees with notebooks/${source}`, async () => {
    const committed = await readNotebook(join(NOTEBOOKS_DIR, notebookFileOf(source)));
    const mismatch = sourceMismatch(committed, await buildFromSource(source));
    assert.equal(
      mismatch,
      null,
      `notebooks/${notebookFileOf(source)} and its source disagree: ${mismatch}. Run ` +
        "`deno task notebooks --quick --write-back` (or --full) after editing the .ts; to keep an edit made " +
        `in Jupyter, \`deno task notebooks --import ${source.slice(0, 2)}\` first`,
    );
    assert.match(cellText(committed.cells[0]), new RegExp(`Made from \\[\`notebooks/${source}\`\\]`));
  });

  Deno.test(`notebooks/${notebookFileOf(source)} is small: PNG figures, no plotly bundles`, async () => {
    const path = join(NOTEBOOKS_DIR, notebookFileOf(source));
    const size = (await Deno.stat(path)).size;
    assert.ok(size < 1024 * 1024, `${path} is ${(size / 1024).toFixed(0)} KiB (limit 1024)`);
    const nb = await readNotebook(path);
    const big = largestOutput(nb);
    assert.ok(
      big.bytes < 300 * 1024,
      `cell ${big.cell} of ${path} has a ${(big.bytes / 1024).toFixed(0)} KiB output`,
    );
    for (const cell of nb.cells) {
      for (const out of cell.outputs ?? []) {
        if (out.data && "image/png" in out.data) {
          assert.ok(
            !("application/vnd.plotly.v1+json" in out.data),
            `${path}: a figure still carries plotly JSON`,
          );
        }
      }
    }
  });
}
