/**
 * Atomic file writes: the data goes to a temporary file beside the target, which is then renamed over it,
 * so a crash or Ctrl-C never leaves a half-written file and a reader sees the old or the new one.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { OutputError } from "./errors.ts";

function tempPath(path: string): string {
  return `${path}.${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.tmp`;
}

/**
 * Writes `data` to `path` atomically, creating parent folders.
 *
 * @example
 * ```ts
 * await writeFileAtomic("outputs/metrics.json", JSON.stringify({ rmse_px: 2.1 }));
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await writeFileAtomicWith(path, async (file) => {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
  });
}

/**
 * Streams a file into place atomically: `write` fills an open temporary file (for outputs too big to hold
 * in memory at once); on success it is renamed to `path`, on failure removed.
 */
export async function writeFileAtomicWith(
  path: string,
  write: (file: Deno.FsFile) => Promise<void>,
): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = tempPath(path);
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    await write(file);
    file.close();
    await Deno.rename(tmp, path);
  } catch (e) {
    try {
      file.close();
    } catch { /* already closed */ }
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Checks, before any long work, that files can be created in folder `dir` (made if missing): a read-only
 * folder, a file in the way or a full disk then fail at once with an {@link OutputError} naming `dir`,
 * not after the first epoch or image.
 */
export async function checkWritableFolder(dir: string): Promise<void> {
  const probe = join(dir, `.write-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`);
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeFile(probe, new Uint8Array(4096));
  } catch (e) {
    await Deno.remove(probe).catch(() => {});
    throw new OutputError(`cannot write in ${dir}: ${(e as Error).message}`);
  }
  await Deno.remove(probe);
}
