/**
 * `deno task notebooks [--quick] [NAMES...]`: executes the thesis notebooks in `notebooks/` in order,
 * headless, with Jupyter's nbclient and the Deno kernel, and saves them with their outputs in place.
 *
 * This file finds Python and Jupyter, registers the Deno kernel if it is missing, picks the notebooks and
 * sets the environment (`FKD_QUICK=1` for `--quick`; `FKD_DATA` passes through); the execution itself is
 * `tools/run_notebooks.py`, which waits for the Deno kernel's late output messages after each cell.
 *
 * @example
 * ```sh
 * deno task notebooks --quick                 # all five, small subset, 1–2 epochs
 * deno task notebooks 01 02                   # by number prefix
 * FKD_DATA=../shared/data/ytf68 deno task notebooks
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../lib/core/errors.ts";

/** Parsed command line of the notebooks task. */
export interface NotebookArgs {
  /** Small subset and 1–2 epochs (sets `FKD_QUICK=1` for the kernel). */
  quick: boolean;
  /** Notebook names or prefixes as given (empty: all). */
  names: string[];
  /** Seconds of quiet to wait for late output messages after each cell. */
  grace: number;
  /** Seconds a single cell may run before the run fails. */
  timeout: number;
  /** Print usage and exit. */
  help: boolean;
}

/** The usage text printed by `--help` and with a usage error. */
export const USAGE = `usage: deno task notebooks [--quick] [--grace SECONDS] [--timeout SECONDS] [NAMES...]

Executes notebooks/*.ipynb in order with the Deno kernel and saves them with their outputs.
  --quick            small subset and 1-2 epochs (FKD_QUICK=1)
  --grace SECONDS    wait this long for late output after each cell (default 0.5)
  --timeout SECONDS  fail a cell that runs longer (default 1800)
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

function positiveNumber(flag: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || text.startsWith("--") || !Number.isFinite(value) || value < 0) {
    throw new UsageError(`${flag} needs a number of seconds ≥ 0, got ${text ?? "nothing"}`);
  }
  return value;
}

/** Parses the task's arguments; throws {@link UsageError} on an unknown flag or a bad value. */
export function parseNotebookArgs(argv: readonly string[]): NotebookArgs {
  const args: NotebookArgs = { quick: false, names: [], grace: 0.5, timeout: 1800, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    if (flag === "--quick") args.quick = true;
    else if (flag === "--help" || flag === "-h") args.help = true;
    else if (flag === "--grace") args.grace = positiveNumber(flag, inline ?? argv[++i]);
    else if (flag === "--timeout") args.timeout = positiveNumber(flag, inline ?? argv[++i]);
    else if (flag.startsWith("-")) throw new UsageError(`unknown option ${arg}\n\n${USAGE}`);
    else args.names.push(arg);
  }
  return args;
}

/**
 * Picks notebooks from the available file names (sorted: the run order) by name, stem or prefix; all of
 * them when `names` is empty. Throws {@link UsageError} naming the available notebooks where a name
 * matches none or several.
 */
export function resolveNotebooks(names: readonly string[], available: readonly string[]): string[] {
  const sorted = [...available].filter((f) => f.endsWith(".ipynb")).sort();
  if (names.length === 0) return sorted;
  const picked = new Set<string>();
  for (const raw of names) {
    const name = raw.replace(/^.*\//, "").replace(/\.ipynb$/, "");
    const exact = sorted.filter((f) => f.replace(/\.ipynb$/, "") === name);
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

/** Runs the task; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let args: NotebookArgs;
  try {
    args = parseNotebookArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const root = fileURLToPath(new URL("..", import.meta.url));
  const dir = join(root, "notebooks");
  const available = [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => e.name);
  let files: string[];
  try {
    files = resolveNotebooks(args.names, available);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  if (files.length === 0) {
    console.error(`no notebooks in ${dir}`);
    return 2;
  }
  const python = findPython();
  const missing = await checkJupyter(python);
  if (missing) {
    console.error(missing);
    return 2;
  }
  await ensureDenoKernel(python);

  // Plain-text outputs (no ANSI colours) read well on GitHub; XDG_RUNTIME_DIR quiets a WebGPU warning.
  const env: Record<string, string> = { NO_COLOR: "1" };
  if (!Deno.env.get("XDG_RUNTIME_DIR")) env.XDG_RUNTIME_DIR = "/tmp";
  if (args.quick) env.FKD_QUICK = "1";
  const data = Deno.env.get("FKD_DATA");
  console.log(
    `Running ${files.length} notebook(s)${args.quick ? " in quick mode" : ""} on ${
      data ? `FKD_DATA=${data}` : "the default dataset"
    }: ${files.join(", ")}`,
  );
  const started = performance.now();
  const run = await new Deno.Command(python, {
    args: [
      join(root, "tools", "run_notebooks.py"),
      "--grace",
      String(args.grace),
      "--timeout",
      String(Math.ceil(args.timeout)),
      "--failed-dir",
      join(root, "outputs", "notebooks"),
      ...files.map((f) => join("notebooks", f)),
    ],
    cwd: root,
    env,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  console.log(`notebooks task: ${((performance.now() - started) / 1000).toFixed(1)} s wall clock`);
  return run.code;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
