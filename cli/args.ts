/**
 * A small typed command-line parser (JSR's std/cli is unreachable here) and the shared error handling of
 * the commands: bad input prints one clear line and exits with code 2.
 *
 * Accepts `--name value`, `--name=value`, `--flag`, `--no-flag`, and `--help`; with `{ positionals: true }`
 * also plain arguments (file names, notebook names), collected in order in `_`, and `--` ends the options.
 *
 * @example
 * ```ts
 * const args = parseArgs(Deno.args, {
 *   epochs: { type: "number", integer: true, min: 1, default: 30, description: "epochs to train" },
 *   out: { type: "string", description: "output folder" },
 * });
 * args.epochs; // number
 * args.out; // string | undefined
 *
 * const files = parseArgs(["--json", "a.jpg", "--", "--odd.jpg"], {
 *   json: { type: "boolean", description: "print JSON lines" },
 * }, { positionals: true });
 * files._; // ["a.jpg", "--odd.jpg"]
 * ```
 *
 * @module
 */
import { DataError, OutputError, UsageError } from "../lib/core/errors.ts";

/** One option: its type, checks, default and help text. */
export type OptionSpec =
  | { type: "string"; description: string; default?: string; choices?: readonly string[]; required?: boolean }
  | { type: "number"; description: string; default?: number; min?: number; max?: number; integer?: boolean }
  | { type: "boolean"; description: string; default?: boolean };

type ValueOf<O extends OptionSpec> = O extends { type: "number" } ? number
  : O extends { type: "boolean" } ? boolean
  : O extends { choices: readonly (infer C)[] } ? C
  : string;

/** The parsed values: an option with a default (or a boolean) always has a value. */
export type ParsedArgs<S extends Record<string, OptionSpec>> =
  & {
    [K in keyof S]: S[K] extends { default: unknown } | { type: "boolean" } | { required: true }
      ? ValueOf<S[K]>
      : ValueOf<S[K]> | undefined;
  }
  & { help: boolean };

/** How `parseArgs` treats arguments that are not options. */
export interface ParseOptions {
  /** Collect plain arguments (and everything after `--`) in `_` instead of rejecting them. */
  positionals?: boolean;
}

/** The plain arguments, present when `parseArgs` was called with `{ positionals: true }`. */
export type Positionals<P extends ParseOptions> = P extends { positionals: true } ? { _: string[] } : unknown;

/**
 * Parses `argv` against `spec`; throws `UsageError` for an unknown option, a missing value, a bad number,
 * or (without `positionals`) a plain argument.
 */
export function parseArgs<
  const S extends Record<string, OptionSpec>,
  const P extends ParseOptions = ParseOptions,
>(
  argv: readonly string[],
  spec: S,
  options?: P,
): ParsedArgs<S> & Positionals<P> {
  const out: Record<string, unknown> = { help: false };
  for (const [name, o] of Object.entries(spec)) {
    out[name] = o.type === "boolean" ? (o.default ?? false) : o.default;
  }
  const positionals: string[] = [];
  if (options?.positionals) out._ = positionals;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      out.help = true;
      continue;
    }
    if (options?.positionals && arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (options?.positionals && !arg.startsWith("-")) {
      positionals.push(arg);
      continue;
    }
    // A single dash is a typo for an option (`-model`), not a file: a file named so goes after `--`.
    if (/^-[^-]/.test(arg)) throw new UsageError(`unknown option ${arg} (options start with --; see --help)`);
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument "${arg}" (options start with --)`);
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const o = spec[name] as OptionSpec | undefined;
    if (!o && name.startsWith("no-") && (spec[name.slice(3)] as OptionSpec | undefined)?.type === "boolean") {
      if (value !== undefined) throw new UsageError(`--${name} takes no value`);
      out[name.slice(3)] = false;
      continue;
    }
    if (!o) throw new UsageError(`unknown option --${name} (see --help)`);
    if (o.type === "boolean") {
      if (value !== undefined && value !== "true" && value !== "false") {
        throw new UsageError(`--${name} is a flag: expected no value, true or false, got "${value}"`);
      }
      out[name] = value !== "false";
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || value.startsWith("--")) {
        throw new UsageError(`--${name} needs a value, got ${value === undefined ? "nothing" : value}`);
      }
    }
    out[name] = o.type === "number" ? parseNumber(name, value, o) : parseString(name, value, o);
  }
  for (const [name, o] of Object.entries(spec)) {
    if (o.type === "string" && o.required && out[name] === undefined && !out.help) {
      throw new UsageError(`--${name} is required (see --help)`);
    }
  }
  return out as ParsedArgs<S> & Positionals<P>;
}

/** Plain decimal numbers only: `Number` also takes "0x10", "0b1", " 5 " and "1e3", which nobody means as a count. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

function parseNumber(name: string, text: string, o: Extract<OptionSpec, { type: "number" }>): number {
  const v = Number(text);
  if (!DECIMAL.test(text) || !Number.isFinite(v)) {
    throw new UsageError(`--${name} expects a number, got "${text}"`);
  }
  if (o.integer && (!INTEGER.test(text) || !Number.isSafeInteger(v))) {
    throw new UsageError(`--${name} expects an integer, got ${text}`);
  }
  if ((o.min !== undefined && v < o.min) || (o.max !== undefined && v > o.max)) {
    const range = `${o.min ?? "-∞"}..${o.max ?? "∞"}`;
    throw new UsageError(`--${name} = ${text} is out of range: expected ${range}`);
  }
  return v;
}

function parseString(name: string, text: string, o: Extract<OptionSpec, { type: "string" }>): string {
  if (o.choices && !o.choices.includes(text)) {
    throw new UsageError(`--${name}: unknown value "${text}", expected one of ${o.choices.join(", ")}`);
  }
  return text;
}

/** The help text: a usage line (with the plain arguments' name, e.g. `FILES...`) and one line per option. */
export function usage(
  command: string,
  summary: string,
  spec: Record<string, OptionSpec>,
  positionals?: string,
): string {
  const rows = Object.entries(spec).map(([name, o]) => {
    const flag = o.type === "boolean" ? `--${name}` : `--${name} ${o.type === "number" ? "N" : "VALUE"}`;
    const extra = [
      o.type === "string" && o.choices ? `one of ${o.choices.join("|")}` : "",
      o.default !== undefined && o.default !== false ? `default ${o.default}` : "",
      o.type === "string" && o.required ? "required" : "",
    ].filter(Boolean).join("; ");
    return `  ${flag.padEnd(26)} ${o.description}${extra ? ` (${extra})` : ""}`;
  });
  const line = positionals ? `${command} [options] ${positionals}` : `${command} [options]`;
  return `${summary}\n\nusage: ${line}\n\n${rows.join("\n")}\n  ${"--help".padEnd(26)} this text\n`;
}

/**
 * Runs a command's `main`, turning errors into exit codes: bad input (`UsageError`, `DataError`, a missing
 * file) prints `error: …` and exits 2; an `OutputError` (full disk, read-only folder) prints one line and
 * exits 1; anything else prints its message and stack and exits 1.
 */
export async function runCli(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    const badInput = e instanceof UsageError || e instanceof DataError || e instanceof Deno.errors.NotFound;
    // A full disk or read-only folder is the user's to fix too: one line, no stack.
    const explained = badInput || e instanceof OutputError ||
      (e instanceof Error && e.name.endsWith("DivergedError"));
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    if (!explained && e instanceof Error) console.error(e.stack);
    Deno.exit(badInput ? 2 : 1);
  }
}
