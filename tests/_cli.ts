/**
 * Runs one of the repository's commands (`cli/<name>.ts`) in a fresh Deno process, for tests of exit codes
 * and of what a user sees.
 *
 * @module
 */

/** What a command did: its exit code and its output as text. */
export interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cli/<name>.ts` with `args` (all permissions) and waits for it. */
export async function runScript(name: string, args: readonly string[]): Promise<ScriptRun> {
  const script = new URL(`../cli/${name}.ts`, import.meta.url).pathname;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}
