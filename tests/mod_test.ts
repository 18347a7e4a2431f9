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
