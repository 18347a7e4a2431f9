/**
 * A small typed command-line parser (JSR's std/cli is unreachable here) and the shared error handling of
 * the commands: bad input prints one clear line and exits with code 2.
 *
 * Accepts `--name value`, `--name=value`, `--flag`, `--no-flag`, and `--help`.
 *
 * @example
 * ```ts
 * const args = parseArgs(Deno.args, {
 *   epochs: { type: "number", integer: true, min: 1, default: 30, description: "epochs to train" },
 *   out: { type: "string", description: "output folder" },
 * });
 * args.epochs; // number
 * args.out; // string | undefined
 * ```
 *
 * @module
 */
import { DataError, UsageError } from "../lib/core/errors.ts";

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

/** Parses `argv` against `spec`; throws `UsageError` for an unknown option, a missing value or a bad number. */
export function parseArgs<const S extends Record<string, OptionSpec>>(
  argv: readonly string[],
  spec: S,
): ParsedArgs<S> {
  const out: Record<string, unknown> = { help: false };
  for (const [name, o] of Object.entries(spec)) {
    out[name] = o.type === "boolean" ? (o.default ?? false) : o.default;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      out.help = true;
      continue;
    }
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
      if (value === undefined || value.startsWith("--")) throw new UsageError(`--${name} needs a value`);
    }
    out[name] = o.type === "number" ? parseNumber(name, value, o) : parseString(name, value, o);
  }
  for (const [name, o] of Object.entries(spec)) {
    if (o.type === "string" && o.required && out[name] === undefined && !out.help) {
      throw new UsageError(`--${name} is required (see --help)`);
    }
  }
  return out as ParsedArgs<S>;
}

function parseNumber(name: string, text: string, o: Extract<OptionSpec, { type: "number" }>): number {
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v)) {
    throw new UsageError(`--${name} expects a number, got "${text}"`);
  }
  if (o.integer && !Number.isInteger(v)) throw new UsageError(`--${name} expects an integer, got ${text}`);
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

/** The help text: a usage line and one line per option. */
export function usage(command: string, summary: string, spec: Record<string, OptionSpec>): string {
  const rows = Object.entries(spec).map(([name, o]) => {
    const flag = o.type === "boolean" ? `--${name}` : `--${name} ${o.type === "number" ? "N" : "VALUE"}`;
    const extra = [
      o.type === "string" && o.choices ? `one of ${o.choices.join("|")}` : "",
      o.default !== undefined && o.default !== false ? `default ${o.default}` : "",
      o.type === "string" && o.required ? "required" : "",
    ].filter(Boolean).join("; ");
    return `  ${flag.padEnd(26)} ${o.description}${extra ? ` (${extra})` : ""}`;
  });
  return `${summary}\n\nusage: ${command} [options]\n\n${rows.join("\n")}\n  ${
    "--help".padEnd(26)
  } this text\n`;
}

/**
 * Runs a command's `main`, turning errors into exit codes: bad input (`UsageError`, `DataError`, a missing
 * file) prints `error: …` and exits 2; anything else prints its message and exits 1.
 */
export async function runCli(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    const badInput = e instanceof UsageError || e instanceof DataError || e instanceof Deno.errors.NotFound;
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    if (!badInput && e instanceof Error && !e.name.endsWith("DivergedError")) console.error(e.stack);
    Deno.exit(badInput ? 2 : 1);
  }
}
