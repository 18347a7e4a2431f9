/**
 * `deno task test` step: the library's pure modules run anywhere, a browser included.
 *
 * The convention (see `lib/mod.ts`): a `lib/` module whose name ends in `_io.ts` may read or write files,
 * start processes or use native code; the folders' `mod.ts` files and `lib/notebook.ts` are entry points
 * that gather both kinds. Every other `lib/` module is pure. This script checks that
 *
 * 1. no pure module imports, directly or through other modules, an `_io.ts` module, a `node:` module or
 *    sharp (from one `deno info --json` module graph), and
 * 2. the pure modules and the camera page (`web/`) type-check for the browser (`lib: ["esnext", "dom"]`,
 *    no `Deno` namespace; `tools/deno.browser.json`), as Deno's standard library checks its browser
 *    modules.
 *
 * Exits 1 naming each offending module and the import chain that reaches the impure one.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join, relative } from "node:path";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** True for the modules that may do IO: `*_io.ts`, the folders' `mod.ts` and `lib/notebook.ts`. */
export function mayDoIo(path: string): boolean {
  return path.endsWith("_io.ts") || path.endsWith("/mod.ts") || path === "lib/mod.ts" ||
    path === "lib/notebook.ts";
}

/** The pure modules of `lib/`, repo-relative, sorted. */
export function pureModules(root: string = ROOT): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(join(root, dir))) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) walk(path);
      else if (e.name.endsWith(".ts") && !mayDoIo(path)) found.push(path);
    }
  };
  walk("lib");
  return found.sort();
}

/** Why a specifier is not allowed in a pure module's graph, or undefined when it is. */
export function impurity(specifier: string, root: string = ROOT): string | undefined {
  if (specifier.startsWith("node:")) return "a node: module";
  if (/^npm:\/?sharp@/.test(specifier)) return "sharp";
  if (specifier.startsWith("file://")) {
    const path = relative(root, fileURLToPath(specifier));
    if (path.startsWith("lib/") && mayDoIo(path)) return "an IO module";
  }
  return undefined;
}

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
}

/**
 * For each pure module whose graph reaches an impure one, the import chain (pure module first).
 * Reads one module graph of all of them from `deno info --json`.
 */
export async function impureChains(
  modules: string[],
  root: string = ROOT,
): Promise<Map<string, { chain: string[]; reason: string }>> {
  const entry = await Deno.makeTempFile({ dir: root, prefix: ".check_pure_", suffix: ".ts" });
  try {
    await Deno.writeTextFile(entry, modules.map((m) => `import "./${m}";\n`).join(""));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`deno info failed:\n${new TextDecoder().decode(out.stderr)}`);
    const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: InfoModule[];
      redirects: Record<string, string>;
    };
    const deps = new Map<string, string[]>();
    for (const m of graph.modules) {
      const to = (m.dependencies ?? []).flatMap((d) => [d.code?.specifier, d.type?.specifier])
        .filter((s): s is string => s !== undefined)
        .map((s) => graph.redirects[s] ?? s);
      deps.set(m.specifier, to);
    }
    const chains = new Map<string, { chain: string[]; reason: string }>();
    for (const m of modules) {
      const start = new URL(m, `file://${root.endsWith("/") ? root : root + "/"}`).href;
      // Breadth-first, so the chain reported is a shortest one.
      const parent = new Map<string, string>([[start, ""]]);
      const queue = [start];
      while (queue.length) {
        const at = queue.shift()!;
        const reason = at === start ? undefined : impurity(at, root);
        if (reason) {
          const chain = [at];
          for (let p = parent.get(at)!; p; p = parent.get(p)!) chain.unshift(p);
          const shown = chain.map((s) => s.startsWith("file://") ? relative(root, fileURLToPath(s)) : s);
          chains.set(m, { chain: shown, reason });
          break;
        }
        if (!at.startsWith("file://")) continue; // npm packages' own graphs are theirs
        for (const next of deps.get(at) ?? []) {
          if (!parent.has(next)) parent.set(next, at), queue.push(next);
        }
      }
    }
    return chains;
  } finally {
    await Deno.remove(entry);
  }
}

async function main(): Promise<number> {
  const modules = pureModules();
  const chains = await impureChains(modules);
  for (const [m, { chain, reason }] of chains) {
    console.error(`${m}: a pure module reaches ${reason}: ${chain.join(" → ")}`);
  }
  if (chains.size) {
    console.error(
      "check_pure: move the IO into an _io.ts module, or rename the module to end in _io.ts (lib/mod.ts)",
    );
    return 1;
  }
  const check = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", "--config", "tools/deno.browser.json", ...modules, "web/"],
    cwd: ROOT,
  }).output();
  if (!check.success) {
    console.error("check_pure: the pure modules or web/ do not type-check for the browser (above)");
    return 1;
  }
  console.log(`check_pure: ${modules.length} pure modules and web/ type-check for the browser`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
