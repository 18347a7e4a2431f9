import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cellTimeout,
  checkJupyter,
  findPython,
  jupyterMissingMessage,
  parseNotebookArgs,
  resolveNotebooks,
} from "../cli/notebooks.ts";
import { UsageError } from "../lib/core/errors.ts";
import { chooseDataset, envFlag, NotebookSession } from "../lib/notebook.ts";
import { notebookCommand, recipeSummary } from "../lib/notebooks/training_io.ts";
import { syntheticDataset } from "../lib/data/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const FIVE = [
  "03_train_lenet.ts",
  "01_explore_data.ts",
  "01_explore_data.ipynb",
  "05_compare_and_apply.ts",
  "02_augmentation.ts",
  "04_train_resnet50.ts",
  "README.md",
];

Deno.test("parseNotebookArgs: flags, values and names", () => {
  assert.deepEqual(parseNotebookArgs([]), {
    quick: false,
    writeBack: false,
    force: false,
    importEdits: false,
    names: [],
    grace: 0.5,
    timeout: null,
    help: false,
  });
  const a = parseNotebookArgs(["--quick", "01", "--grace", "0.2", "--timeout=60", "lenet"]);
  assert.equal(a.quick, true);
  assert.deepEqual(a.names, ["01", "lenet"]);
  assert.equal(a.grace, 0.2);
  assert.equal(a.timeout, 60);
  assert.equal(cellTimeout(a), 60);
  // A full run's training cells take hours: no limit unless asked for.
  assert.equal(cellTimeout(parseNotebookArgs([])), 0);
  assert.equal(cellTimeout(parseNotebookArgs(["--quick"])), 1800);
  assert.equal(parseNotebookArgs(["-h"]).help, true);
});

Deno.test("parseNotebookArgs: unknown options and bad numbers are usage errors", () => {
  assert.throws(
    () => parseNotebookArgs(["--fast"]),
    (e) => e instanceof UsageError && /unknown option --fast/.test(e.message),
  );
  assert.throws(
    () => parseNotebookArgs(["--grace"]),
    (e) => e instanceof UsageError && /got nothing/.test(e.message),
  );
  assert.throws(() => parseNotebookArgs(["--grace", "-1"]), UsageError);
  assert.throws(() => parseNotebookArgs(["--timeout", "soon"]), /got "soon"/);
  assert.throws(() => parseNotebookArgs(["--grace", "--quick"]), UsageError);
});

Deno.test("resolveNotebooks: the sources, all in file order, or by number, stem, name or path", () => {
  const all = FIVE.filter((f) => f.endsWith(".ts")).sort();
  assert.deepEqual(resolveNotebooks([], FIVE), all);
  assert.deepEqual(resolveNotebooks(["03"], FIVE), ["03_train_lenet.ts"]);
  assert.deepEqual(resolveNotebooks(["augmentation"], FIVE), ["02_augmentation.ts"]);
  assert.deepEqual(resolveNotebooks(["notebooks/05_compare_and_apply.ipynb"], FIVE), [
    "05_compare_and_apply.ts",
  ]);
  assert.deepEqual(resolveNotebooks(["notebooks/05_compare_and_apply.ts"], FIVE), [
    "05_compare_and_apply.ts",
  ]);
  // Run order is file order, whatever the command-line order; duplicates run once.
  assert.deepEqual(resolveNotebooks(["04", "01", "01_explore_data"], FIVE), [
    "01_explore_data.ts",
    "04_train_resnet50.ts",
  ]);
});

Deno.test("resolveNotebooks: a name matching none or several is a usage error naming the notebooks", () => {
  assert.throws(
    () => resolveNotebooks(["06"], FIVE),
    (e) =>
      e instanceof UsageError && /matches none/.test(e.message) &&
      e.message.includes("01_explore_data.ts"),
  );
  assert.throws(
    () => resolveNotebooks(["0"], FIVE),
    (e) => e instanceof UsageError && /matches 5 notebooks/.test(e.message),
  );
  assert.throws(() => resolveNotebooks(["train"], FIVE), /matches 2 notebooks/);
});

Deno.test("jupyterMissingMessage: says exactly how to install Jupyter and register the kernel", () => {
  const text = jupyterMissingMessage("/usr/bin/python3", "No module named 'nbclient'");
  assert.match(text, /No module named 'nbclient'/);
  assert.ok(
    text.includes("apt-get install -y jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel"),
  );
  assert.ok(text.includes("/usr/bin/python3 -m pip install nbclient"));
  assert.ok(text.includes("deno jupyter --install"));
});

Deno.test("checkJupyter / findPython: a Python that is missing gives the install message", async () => {
  const missing = await checkJupyter("/nonexistent/python3");
  assert.ok(missing, "a missing interpreter must be reported");
  assert.match(missing, /apt-get install -y jupyter-nbconvert/);
  assert.equal(
    findPython({ get: (k) => (k === "FKD_PYTHON" ? "/opt/py/bin/python" : undefined) }),
    "/opt/py/bin/python",
  );
});

Deno.test("deno task notebooks: exits 2 with the install message where Jupyter is missing", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "cli", "notebooks.ts"), "--quick"],
    env: { FKD_PYTHON: "/nonexistent/python3" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /Install it \(Debian\/Ubuntu, as root\)/);
});

Deno.test("deno task notebooks: a usage error exits 2 without running anything", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "cli", "notebooks.ts"), "no_such_notebook"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /"no_such_notebook" matches none/);
});

Deno.test("chooseDataset: FKD_DATA, else Kaggle data/training.csv, else synthetic", () => {
  const none = () => false;
  const named = chooseDataset({ FKD_DATA: "../shared/data/ytf68:test" }, none, "/repo");
  assert.equal(named.spec, "/shared/data/ytf68:test"); // relative to the repository root
  assert.match(named.reason, /FKD_DATA/);
  assert.equal(named.shownAs, "../shared/data/ytf68:test");
  assert.equal(chooseDataset({ FKD_DATA: "synthetic:50" }, none, "/repo").spec, "synthetic:50");
  assert.equal(chooseDataset({ FKD_DATA: "/data/train.csv" }, none, "/repo").spec, "/data/train.csv");
  const kaggle = chooseDataset({}, (p) => p === "/repo/data/training.csv", "/repo");
  assert.equal(kaggle.spec, "/repo/data/training.csv");
  const synthetic = chooseDataset({ FKD_DATA: "  " }, none, "/repo");
  assert.match(synthetic.spec, /^synthetic:\d+$/);
  assert.match(synthetic.reason, /SYNTHETIC/);
  assert.equal(envFlag("1"), true);
  assert.equal(envFlag("Yes"), true);
  assert.equal(envFlag("0"), false);
  assert.equal(envFlag(undefined), false);
});

// The real runner on a tiny notebook (a few seconds): needs Debian's nbclient and the Deno kernelspec.
const PYTHON = "/usr/bin/python3";
const canRun = await (async () => {
  try {
    const probe = await new Deno.Command(PYTHON, {
      args: [
        "-c",
        "import nbclient; from jupyter_client.kernelspec import find_kernel_specs as f; assert 'deno' in f()",
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    return probe.success;
  } catch {
    return false;
  }
})();

function tinyNotebook(cells: string[]): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
    cells: cells.map((source, i) => ({
      cell_type: "code",
      id: `c${i}`,
      metadata: {},
      execution_count: null,
      outputs: [],
      source,
    })),
  });
}

async function runner(path: string) {
  const out = await new Deno.Command(PYTHON, {
    args: [
      join(ROOT, "tools", "run_notebooks.py"),
      "--grace",
      "0.3",
      "--failed-dir",
      join(path, "..", "failed"),
      path,
    ],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test({
  name: "run_notebooks.py: executes with the Deno kernel, keeps every output, saves in place",
  ignore: !canRun,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "notebooks_test_" });
    try {
      const path = join(dir, "tiny.ipynb");
      await Deno.writeTextFile(
        path,
        tinyNotebook([
          'console.log("one");\nconsole.log("two");\n6 * 7',
          'await Deno.jupyter.display({ "text/markdown": "**shown**" }, { raw: true });\n"after"',
        ]),
      );
      const run = await runner(path);
      assert.equal(run.code, 0, run.stderr);
      const nb = JSON.parse(await Deno.readTextFile(path));
      const [first, second] = nb.cells;
      // nbformat stores multi-line text as a list of lines.
      const text = (v: string | string[]) => (Array.isArray(v) ? v.join("") : v);
      assert.equal(first.outputs.length, 2, "the two console.log lines merge into one stream output");
      assert.equal(text(first.outputs[0].text), "one\ntwo\n");
      assert.equal(text(first.outputs[1].data["text/plain"]), "42");
      assert.equal(text(second.outputs[0].data["text/markdown"]), "**shown**");
      assert.equal(text(second.outputs[1].data["text/plain"]), '"after"');
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "run_notebooks.py: a failing cell names the notebook, the cell and the error; the file is untouched",
  ignore: !canRun,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "notebooks_test_" });
    try {
      const path = join(dir, "bad.ipynb");
      const text = tinyNotebook(["1 + 1", 'throw new RangeError("no faces left")', "3"]);
      await Deno.writeTextFile(path, text);
      const run = await runner(path);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /bad\.ipynb: cell 2 \(code cell 2\) failed: RangeError: no faces left/);
      assert.equal(await Deno.readTextFile(path), text, "a failed run must not overwrite the notebook");
      const failed = JSON.parse(await Deno.readTextFile(join(dir, "failed", "bad.ipynb")));
      assert.equal(failed.cells[1].outputs[0].output_type, "error");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("chooseDataset and the run folder: a combined name resolves each part; one folder per dataset", () => {
  const none = () => false;
  const both = chooseDataset(
    { FKD_DATA: "../shared/data/ytf68:training+../shared/data/300w" },
    none,
    "/repo",
  );
  assert.equal(both.spec, "/shared/data/ytf68:training+/shared/data/300w");
  const slug = (choice: ReturnType<typeof chooseDataset>) =>
    new NotebookSession("03", false, choice, syntheticDataset({ n: 1 })).dataSlug;
  assert.equal(slug(both), "ytf68-training+300w");
  assert.equal(slug(chooseDataset({ FKD_DATA: "../shared/data/ytf68/" }, none, "/repo")), "ytf68");
  assert.equal(slug(chooseDataset({}, none, "/repo")), "synthetic-1000");
  const full = new NotebookSession("03", false, both, syntheticDataset({ n: 1 }));
  const quick = new NotebookSession("03", true, both, syntheticDataset({ n: 1 }));
  assert.match(full.modelDir("lenet"), /outputs\/models\/notebooks\/ytf68-training\+300w\/lenet$/);
  assert.match(quick.modelDir("lenet"), /outputs\/models\/notebooks-quick\/ytf68-training\+300w\/lenet$/);
});

Deno.test("recipeSummary: the notebook's recipe and the same run as a train command, per mode", () => {
  const choice = { spec: "/repo/data/x.csv", reason: "test", shownAs: "data/x.csv" };
  const full = recipeSummary(
    new NotebookSession("04", false, choice, syntheticDataset({ n: 1 })),
    "resnet18-slim",
  );
  assert.match(full, /Wing loss, Adam cosine from 2e-3 down to 1e-5 over 24 epochs, the wild augmentation/);
  assert.match(full, /best epoch by validation NME; 10 % of the faces held out/);
  assert.match(
    full,
    /deno task train --model resnet18-slim --data data\/x\.csv --validation 0\.1 --recipe --out /,
  );
  const quick = recipeSummary(new NotebookSession("03", true, choice, syntheticDataset({ n: 1 })), "lenet");
  assert.match(quick, /masked MSE loss, Adam cosine from 1e-3 down to 1e-5 over 1 epoch, the default/);
  assert.match(quick, /--validation 0\.2 --recipe --epochs 1 --out \S*notebooks-quick\/x\.csv\/lenet/);
});

Deno.test("notebookCommand: the run's command names the data and models it was given", () => {
  const nb = new NotebookSession("04", false, { spec: "x", reason: "test" }, syntheticDataset({ n: 1 }));
  assert.equal(notebookCommand(nb, {}), "deno task notebooks --full 04");
  assert.equal(
    notebookCommand(nb, { FKD_DATA: "../d/a+../d/b", FKD_MODELS: "lenet,resnet18-slim", HOME: "/root" }),
    "FKD_DATA=../d/a+../d/b FKD_MODELS=lenet,resnet18-slim deno task notebooks --full 04",
  );
});
