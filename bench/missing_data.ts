/**
 * Which parts of a dataset spec (`A+B`, a part maybe ending in `:training` / `:test`) are not on this
 * machine, so that a benchmark on real photos says it skipped instead of failing.
 *
 * @module
 */

/** The parts of `spec` whose folder or file does not exist. */
export function missingParts(spec: string): string[] {
  return spec.split("+").filter((p) => {
    try {
      Deno.statSync(p.replace(/:(training|test)$/, ""));
      return false;
    } catch {
      return true;
    }
  });
}
