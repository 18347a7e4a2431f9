/**
 * Face detectors on the validation photos (the photos neither the CNN detector nor the bundled keypoint
 * model trained on): for each detector spec, the share of annotated faces found per part (a box containing
 * the centre of the face's 68-landmark box, as `deno task evaluate --end-to-end` matches them), the boxes per
 * photo (ytf68 frames hold one face, so there the excess is false faces; AFW photos hold unannotated faces)
 * and the time per photo (decoded photos in memory, so detection only).
 *
 * Data: the validation split (by person / photo, seed 0, validation 0.1, as the bundled model's) of
 * `FKD_DETECT_DATA` (default `../shared/data/ytf68+../shared/data/300w`); specs `FKD_DETECTORS`
 * (comma-separated, default below). Run: `deno task bench detectors`.
 *
 * @module
 */
import { initBackend } from "../lib/backend_io.ts";
import type { RawImage } from "../lib/core/image.ts";
import { readGray } from "../lib/core/image_io.ts";
import { DATASET_CACHE_DIR } from "../lib/data/dataset_cache_io.ts";
import { missingParts } from "./missing_data.ts";
import { loadDataset } from "../lib/data/spec_io.ts";
import { groupSplit } from "../lib/data/split.ts";
import { matchDetection } from "../lib/evaluate/end_to_end_io.ts";
import { openFaceDetector } from "../lib/face/detectors_io.ts";

const DATA = Deno.env.get("FKD_DETECT_DATA") ?? "../shared/data/ytf68+../shared/data/300w";
const SPECS = (Deno.env.get("FKD_DETECTORS") ?? "default,chain,cnn,cnn:3,cnn|default+chain").split(",");

export async function run(): Promise<string> {
  const missing = missingParts(DATA);
  if (missing.length > 0) {
    return `skipped: no ${missing.join(", ")} (set FKD_DETECT_DATA to photos with landmarks)`;
  }
  const backend = await initBackend();
  const { validation } = groupSplit(await loadDataset(DATA, { cacheDir: DATASET_CACHE_DIR }), {
    validation: 0.1,
    seed: 0,
  });
  const sources = validation.sources!, parts = validation.parts ?? sources.map(() => DATA);
  const grays: RawImage[] = [];
  for (const s of sources) grays.push(await readGray(s.file));
  const names = [...new Set(parts)];
  const out = [
    `Validation photos of ${DATA}: ${validation.n} faces; ${backend.backend}. \`cnn:N\`: the CNN with N tiles.\n`,
    `| detector | ${names.map((p) => `${p}: found (boxes / photo)`).join(" | ")} | ms / photo |`,
    `|---|${names.map(() => "---:").join("|")}|---:|`,
  ];
  for (const entry of SPECS) {
    const [spec, tiles] = entry.split(":");
    const { detector } = await openFaceDetector(spec, { tiles: tiles ? Number(tiles) : undefined });
    const tally = new Map(names.map((p) => [p, { n: 0, found: 0, boxes: 0 }]));
    const start = performance.now();
    sources.forEach((s, i) => {
      const boxes = detector.detect(grays[i]);
      const t = tally.get(parts[i])!;
      t.n++, t.boxes += boxes.length;
      if (matchDetection(boxes, s.landmarks68!)) t.found++;
    });
    const ms = (performance.now() - start) / sources.length;
    detector.close();
    const cells = names.map((p) => {
      const t = tally.get(p)!;
      return `${(100 * t.found / t.n).toFixed(1)} % (${(t.boxes / t.n).toFixed(2)})`;
    });
    out.push(`| \`${entry}\` | ${cells.join(" | ")} | ${ms.toFixed(1)} |`);
  }
  return out.join("\n");
}
