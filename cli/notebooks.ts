/**
 * `deno task notebooks [--quick|--full] [--write-back] [NAMES...]`: builds the thesis notebooks from their
 * sources (`notebooks/*.ts`, jupytext percent format) and executes them in order, headless, with Jupyter's
 * nbclient and the Deno kernel. The executed copies go to `outputs/notebooks/`; only `--write-back` saves
 * them (with slim outputs) over the committed `notebooks/*.ipynb`, and it refuses to overwrite a notebook
 * that was edited in Jupyter (`--import` turns such an edit back into its source).
 *
 * This file finds Python and Jupyter, registers the Deno kernel if it is missing, picks the notebooks and
 * sets the environment (`FKD_QUICK=1` for `--quick`; `FKD_DATA` passes through); the execution itself is
 * `tools/run_notebooks.py`, which waits for the Deno kernel's late output messages after each cell.
 *
 * @example
 * ```sh
 * deno task notebooks --quick                 # all five, small subset, 1–2 epochs → outputs/notebooks/
 * deno task notebooks --quick 01 02           # by number prefix
 * FKD_DATA=../shared/data/ytf68 deno task notebooks --full --write-back   # the committed run
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../lib/core/atomic_io.ts";
import { UsageError } from "../lib/core/errors.ts";
import { parseArgs } from "./args.ts";
import { fileExists } from "../lib/notebook.ts";
import {
  editedByHand,
  largestOutput,
  type Notebook,
  notebookJson,
  slimOutputs,
} from "../lib/notebooks/ipynb.ts";
import {
  buildFromSource,
  listSources,
  notebookFileOf,
  NOTEBOOKS_DIR,
  readNotebook,
  sourceFromNotebook,
  sourceHeader,
} from "../lib/notebooks/sources_io.ts";

/** Parsed command line of the notebooks task. */
export interface NotebookArgs {
  /** Small subset and 1–2 epochs (sets `FKD_QUICK=1` for the kernel); `--full` is the explicit opposite. */
  quick: boolean;
  /** Save the executed notebooks over `notebooks/*.ipynb` (else only `outputs/notebooks/`). */
  writeBack: boolean;
  /** With `writeBack`: overwrite a notebook even where it was edited in Jupyter. */
  force: boolean;
  /** Turn the named notebooks' cells (edited in Jupyter) back into their `.ts` sources; runs nothing. */
  importEdits: boolean;
  /** Notebook names or prefixes as given (empty: all). */
  names: string[];
  /** Seconds of quiet to wait for late output messages after each cell. */
  grace: number;
  /** Seconds a cell may run before the run fails (0: no limit); null: the mode's default ({@link cellTimeout}). */
  timeout: number | null;
  /** Print usage and exit. */
  help: boolean;
}

/** The usage text printed by `--help` and with a usage error. */
export const USAGE = `usage: deno task notebooks [--quick|--full] [--write-back [--force]] [--grace SECONDS]
                           [--timeout SECONDS] [NAMES...]
       deno task notebooks --import NAMES...

Builds notebooks/*.ipynb from their sources notebooks/*.ts and executes them in order with the Deno
kernel; the executed copies go to outputs/notebooks/.
  --quick            small subset and 1-2 epochs (FKD_QUICK=1)
  --full             all faces, every model trained until validation stops improving (the default);
                     training continues the run folders in outputs/models/notebooks/ (resumable)
  --write-back       also save the executed notebooks (slim outputs) over notebooks/*.ipynb
  --force            with --write-back: overwrite a notebook edited in Jupyter (the edit is lost)
  --import           write the cells of notebooks/NAME.ipynb (edited in Jupyter) into notebooks/NAME.ts
  --grace SECONDS    wait this long for late output after each cell (default 0.5)
  --timeout SECONDS  fail a cell that runs longer (default: 1800 in quick mode, none in full mode, whose
                     training cells run for hours; 0 for none)
  NAMES              notebooks by file name, stem or prefix: 01, 03_train_lenet, explore_data
Environment: FKD_DATA=<dataset spec> picks the dataset (default: data/training.csv if present, else
synthetic); FKD_PYTHON=<python with nbclient> (default /usr/bin/python3).`;

/** The message shown where Jupyter (nbclient) is not installed: what to run to install it. */
export function jupyterMissingMessage(python: string, detail = ""): string {
  return [
    `Jupyter's nbclient is not available to ${python}${detail ? ` (${detail})` : ""}.`,
    "Install it (Debian/Ubuntu, as root):",
    "  apt-get update && apt-get install -y jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel",
    "or with pip:",
    `  ${python} -m pip install nbclient nbformat jupyter_client ipykernel`,
    "then register the Deno kernel (this task also does it when it is missing):",
    "  deno jupyter --install",
    "A different Python can be named with FKD_PYTHON=/path/to/python3.",
  ].join("\n");
}

/** The options of {@link USAGE}, for the shared parser. */
const SPEC = {
  quick: { type: "boolean", description: "small subset and 1-2 epochs (FKD_QUICK=1)" },
  full: { type: "boolean", description: "all faces, every model trained until validation stops improving" },
  "write-back": { type: "boolean", description: "also save the executed notebooks over notebooks/*.ipynb" },
  force: { type: "boolean", description: "with --write-back: overwrite a notebook edited in Jupyter" },
  import: { type: "boolean", description: "write the cells of notebooks/NAME.ipynb into notebooks/NAME.ts" },
  grace: {
    type: "number",
    min: 0,
    default: 0.5,
    description: "seconds to wait for late output after each cell",
  },
  timeout: { type: "number", min: 0, description: "seconds a cell may run (0: no limit)" },
} as const;

/** Parses the task's arguments; throws {@link UsageError} on an unknown flag or a bad value. */
export function parseNotebookArgs(argv: readonly string[]): NotebookArgs {
  const parsed = parseArgs(argv, SPEC, { positionals: true });
  const full = parsed.full;
  const args: NotebookArgs = {
    quick: parsed.quick,
    writeBack: parsed["write-back"],
    force: parsed.force,
    importEdits: parsed.import,
    names: parsed._,
    grace: parsed.grace,
    timeout: parsed.timeout ?? null,
    help: parsed.help,
  };
  if (args.quick && full) throw new UsageError("--quick and --full exclude each other");
  if (args.force && !args.writeBack) throw new UsageError("--force only applies to --write-back");
  if (args.importEdits && (args.writeBack || args.quick || full)) {
    throw new UsageError("--import runs nothing: use it without --quick, --full or --write-back");
  }
  if (args.importEdits && args.names.length === 0) {
    throw new UsageError("--import needs the notebooks to import, e.g. --import 03");
  }
  return args;
}

/**
 * Picks notebook sources (`NN_name.ts`) from the available file names (sorted: the run order) by name,
 * stem or prefix (`03`, `03_train_lenet`, `train_lenet`, `notebooks/03_train_lenet.ipynb`); all of them
 * when `names` is empty. Throws {@link UsageError} naming the available notebooks where a name matches
 * none or several.
 */
export function resolveNotebooks(names: readonly string[], available: readonly string[]): string[] {
  const sorted = [...available].filter((f) => /^\d+_.*\.ts$/.test(f)).sort();
  if (names.length === 0) return sorted;
  const picked = new Set<string>();
  for (const raw of names) {
    const name = raw.replace(/^.*\//, "").replace(/\.(ipynb|ts)$/, "");
    const exact = sorted.filter((f) => f.replace(/\.ts$/, "") === name);
    const matches = exact.length
      ? exact
      : sorted.filter((f) => f.startsWith(name) || f.replace(/^\d+_/, "").startsWith(name));
    if (matches.length !== 1) {
      const what = matches.length
        ? `matches ${matches.length} notebooks (${matches.join(", ")})`
        : "matches none";
      throw new UsageError(`notebook "${raw}" ${what}; available: ${sorted.join(", ")}`);
    }
    picked.add(matches[0]);
  }
  return sorted.filter((f) => picked.has(f)); // run order, not command-line order
}

/** The Python that runs nbclient: `FKD_PYTHON`, else Debian's `/usr/bin/python3`, else `python3`. */
export function findPython(env: { get(key: string): string | undefined } = Deno.env): string {
  const chosen = env.get("FKD_PYTHON");
  if (chosen) return chosen;
  try {
    Deno.statSync("/usr/bin/python3");
    return "/usr/bin/python3";
  } catch {
    return "python3";
  }
}

async function output(cmd: string, args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return { ok: out.success, stdout: decode(out.stdout), stderr: decode(out.stderr) };
  } catch (err) {
    return { ok: false, stdout: "", stderr: err instanceof Error ? err.message : String(err) };
  }
}

/** Null where `python` can import nbclient, else the message saying how to install Jupyter. */
export async function checkJupyter(python: string): Promise<string | null> {
  const probe = await output(python, ["-c", "import nbclient, nbformat, jupyter_client"]);
  if (probe.ok) return null;
  const detail = probe.stderr.trim().split("\n").at(-1) ?? "";
  return jupyterMissingMessage(python, detail);
}

const LIST_KERNELS = "import json; from jupyter_client.kernelspec import find_kernel_specs; " +
  "print(json.dumps(sorted(find_kernel_specs())))";

/** Registers the Deno kernel (`deno jupyter --install`) where Jupyter knows no `deno` kernelspec. */
export async function ensureDenoKernel(python: string): Promise<void> {
  const list = await output(python, ["-c", LIST_KERNELS]);
  try {
    if (list.ok && (JSON.parse(list.stdout) as string[]).includes("deno")) return;
  } catch { /* unreadable listing: register below */ }
  console.log("Registering the Deno kernel: deno jupyter --install");
  const install = await output(Deno.execPath(), ["jupyter", "--install"]);
  if (!install.ok && !/already exists/.test(install.stderr)) {
    throw new Error(`deno jupyter --install failed:\n${install.stderr}`);
  }
}

/**
 * The committed notebooks that `--write-back` would overwrite although they were edited in Jupyter since
 * they were built, as one message per notebook (empty: none).
 */
export async function handEditedNotebooks(
  sources: readonly string[],
  dir = NOTEBOOKS_DIR,
): Promise<string[]> {
  const problems: string[] = [];
  for (const source of sources) {
    const path = join(dir, notebookFileOf(source));
    if (!fileExists(path)) continue;
    const nb = await readNotebook(path);
    if (!nb.metadata.fkd) {
      problems.push(
        `notebooks/${notebookFileOf(source)} was not built from notebooks/${source} (an older generator or ` +
          "made by hand): pass --force to replace it",
      );
    } else if (editedByHand(nb)) {
      problems.push(
        `notebooks/${notebookFileOf(source)} was edited in Jupyter since it was built: move the edit into ` +
          `notebooks/${source} (deno task notebooks --import ${
            source.slice(0, 2)
          }), or pass --force to lose it`,
      );
    }
  }
  return problems;
}

/** `--import`: writes each named notebook's cells back into its `.ts` source (atomically). */
export async function importNotebooks(sources: readonly string[], dir = NOTEBOOKS_DIR): Promise<void> {
  for (const source of sources) {
    const nb = await readNotebook(join(dir, notebookFileOf(source)));
    const old = await Deno.readTextFile(join(dir, source)).catch(() => "");
    await writeFileAtomic(join(dir, source), sourceFromNotebook(nb, sourceHeader(old)));
    console.log(
      `notebooks/${notebookFileOf(source)} → notebooks/${source} (run deno fmt and deno check on it)`,
    );
  }
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

/** Seconds a cell may run (0: no limit): `--timeout`, else 1800 in quick mode and no limit in full mode. */
export function cellTimeout(args: Pick<NotebookArgs, "quick" | "timeout">): number {
  return args.timeout ?? (args.quick ? 1800 : 0);
}

/** Runs the task; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let args: NotebookArgs;
  let files: string[];
  try {
    args = parseNotebookArgs(argv);
    if (args.help) {
      console.log(USAGE);
      return 0;
    }
    files = resolveNotebooks(args.names, listSources());
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  if (files.length === 0) {
    console.error(`no notebook sources (NN_name.ts) in ${NOTEBOOKS_DIR}`);
    return 2;
  }
  if (args.importEdits) {
    await importNotebooks(files);
    return 0;
  }
  if (args.writeBack && !args.force) {
    const edited = await handEditedNotebooks(files);
    if (edited.length) {
      console.error(edited.join("\n"));
      return 2;
    }
  }
  const python = findPython();
  const missing = await checkJupyter(python);
  if (missing) {
    console.error(missing);
    return 2;
  }
  await ensureDenoKernel(python);

  const root = fileURLToPath(new URL("..", import.meta.url));
  const outDir = join(root, "outputs", "notebooks");
  // Plain-text outputs (no ANSI colours) read well on GitHub; XDG_RUNTIME_DIR quiets a WebGPU warning.
  const env: Record<string, string> = { NO_COLOR: "1" };
  if (!Deno.env.get("XDG_RUNTIME_DIR")) env.XDG_RUNTIME_DIR = "/tmp";
  if (args.quick) env.FKD_QUICK = "1";
  const data = Deno.env.get("FKD_DATA");
  const mode = args.quick ? "quick" : "full";
  console.log(
    `Running ${files.length} notebook(s) in ${mode} mode on ${
      data ? `FKD_DATA=${data}` : "the default dataset"
    } into outputs/notebooks/${args.writeBack ? " and back into notebooks/" : ""}: ${files.join(", ")}`,
  );
  const started = performance.now();
  for (const source of files) {
    const staged = join(outDir, notebookFileOf(source));
    await writeFileAtomic(staged, notebookJson(await buildFromSource(source)));
    const run = await new Deno.Command(python, {
      args: [
        join(root, "tools", "run_notebooks.py"),
        "--grace",
        String(args.grace),
        "--timeout",
        // nbclient reads -1 as no limit.
        String(cellTimeout(args) === 0 ? -1 : Math.ceil(cellTimeout(args))),
        "--cwd",
        NOTEBOOKS_DIR,
        "--failed-dir",
        join(outDir, "failed"),
        staged,
      ],
      cwd: root,
      env,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (run.code !== 0) {
      console.log(
        `notebooks task: stopped at ${source} after ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      return run.code;
    }
    const executed: Notebook = await readNotebook(staged);
    executed.metadata.fkd = { ...executed.metadata.fkd!, mode };
    await writeFileAtomic(staged, notebookJson(executed));
    if (args.writeBack) {
      const slim = slimOutputs(executed);
      const text = notebookJson(slim);
      await writeFileAtomic(join(NOTEBOOKS_DIR, notebookFileOf(source)), text);
      const big = largestOutput(slim);
      console.log(
        `  wrote notebooks/${notebookFileOf(source)} (${kib(text.length)}; largest output ${
          kib(big.bytes)
        } ` +
          `in cell ${big.cell})`,
      );
    }
  }
  console.log(`notebooks task: ${((performance.now() - started) / 1000).toFixed(1)} s wall clock`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
