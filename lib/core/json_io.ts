/**
 * JSON files read with the one error form: a missing or unparsable file is a {@link DataError} naming it.
 *
 * @example
 * ```ts
 * import { readJson } from "./json_io.ts";
 * const state = await readJson<{ epoch: number }>("outputs/models/run/checkpoint/state.json");
 * ```
 *
 * @module
 */
import { DataError } from "./errors.ts";

/** What {@link readJson} says when the file does not exist. */
export interface MissingJson {
  /** The message; default "file not found". */
  missing?: string;
  /** The file the error names; default the JSON file itself (e.g. the folder it should be in). */
  missingFile?: string;
}

/**
 * The parsed content of a JSON file.
 *
 * @throws {DataError} when the file is missing (`opts` says how to name it) or does not parse.
 */
export async function readJson<T = unknown>(path: string, opts: MissingJson = {}): Promise<T> {
  const found = await readJsonIfPresent<T>(path);
  if (found === null) {
    throw new DataError(opts.missing ?? "file not found", { file: opts.missingFile ?? path });
  }
  return found.value;
}

/**
 * The parsed content of a JSON file as `{ value }`, or `null` when there is no such file.
 *
 * @throws {DataError} when it exists but cannot be read or parsed.
 */
export async function readJsonIfPresent<T = unknown>(path: string): Promise<{ value: T } | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new DataError(`cannot parse: ${(e as Error).message}`, { file: path });
  }
  try {
    return { value: JSON.parse(text) as T };
  } catch (e) {
    throw new DataError(`cannot parse: ${(e as Error).message}`, { file: path });
  }
}
