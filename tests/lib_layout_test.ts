import assert from "node:assert/strict";

// The folders' mod.ts files re-export the public surface only: helpers kept exported for the tests start
// with `_`, and the folders' private files (`_util.ts`) and cross-folder internals stay out.
const INTERNALS = [
  "encodeBase64",
  "decodeBase64",
  "escapeHtml",
  "gridPixel",
  "replaceDir",
  "modelToArtifacts",
];

Deno.test("lib/mod.ts and the folders' mod.ts re-export no internal helper", async () => {
  const folders = ["core", "data", "augment", "models", "train", "evaluate", "face", "video", "viz"];
  for (const path of ["../lib/mod.ts", ...folders.map((f) => `../lib/${f}/mod.ts`)]) {
    const names = Object.keys(await import(path));
    assert.deepEqual(names.filter((n) => n.startsWith("_") || INTERNALS.includes(n)), [], path);
  }
  const lib = await import("../lib/mod.ts");
  // The public surface is still there, one name per folder.
  for (const name of ["KEYPOINT_NAMES", "readKaggleCsv", "compose", "createModel", "train", "evaluate"]) {
    assert.ok(name in lib, name);
  }
  for (const name of ["FaceTracker", "predictVideoFile", "show"]) assert.ok(name in lib, name);
});

const LIB = new URL("../lib/", import.meta.url);

/** The README's library table: for each folder (`core/`, `(top)`), the modules and subfolders it lists. */
async function readmeLibraryTable(): Promise<Map<string, Set<string>>> {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("## The library (`lib/`)"));
  const table = new Map<string, Set<string>>();
  for (const line of section.slice(0, section.indexOf("\n## ")).split("\n")) {
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    if (cells.length !== 3 || !cells[1].startsWith("`")) continue;
    const folder = cells[0].replace(/ \(.*\)$/, "").replaceAll("`", "");
    const names = [...cells[1].matchAll(/`([^`]+)`/g)].map((m) => m[1].replace(/\.ts$/, ""));
    table.set(folder, new Set([...(table.get(folder) ?? []), ...names]));
  }
  return table;
}

Deno.test("README's library table lists every lib/ module and folder, and nothing that is not there", async () => {
  const table = await readmeLibraryTable();
  const listed = (folder: string) => [...(table.get(folder) ?? [])].sort();
  const top: string[] = [];
  for await (const e of Deno.readDir(LIB)) {
    if (e.isFile && e.name.endsWith(".ts") && e.name !== "mod.ts") top.push(e.name.replace(/\.ts$/, ""));
    if (!e.isDirectory) continue;
    if (!table.has(`${e.name}/`)) {
      top.push(`${e.name}/`); // a folder described as a whole in a "(top)" row
      continue;
    }
    const modules: string[] = [];
    for await (const f of Deno.readDir(new URL(`${e.name}/`, LIB))) {
      // `_` files are private to the folder; mod.ts is its entry point.
      if (f.isFile && f.name.endsWith(".ts") && f.name !== "mod.ts" && !f.name.startsWith("_")) {
        modules.push(f.name.replace(/\.ts$/, ""));
      }
    }
    assert.deepEqual(listed(`${e.name}/`), modules.sort(), `lib/${e.name}/`);
  }
  assert.deepEqual(listed("(top)"), top.sort(), "lib/ itself");
});
