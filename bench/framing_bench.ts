/**
 * Detection and framing on the training photos: for each Haar cascade (and the chain of them that
 * `createCascadeDetector` runs), the detection rate, the boxes that match no annotated face, the time per
 * photo, how its boxes relate to the 68-landmark box (the calibration in `CASCADE_FRAMING`), and the
 * spread of the resulting crops around the training framing. Also the relation of the 15 keypoints' box to
 * the 68-landmark box (`KEYPOINTS15_TO_LANDMARK_BOX`, used by refinement).
 *
 * Data: the training split (by person / photo, seed 0, validation 0.1, as `deno task train --validation 0.1`)
 * of `FKD_FRAMING_DATA` (default `../shared/data/ytf68+../shared/data/300w`), at most `FKD_FRAMING_PHOTOS`
 * photos per part (default 150). Run: `deno task bench framing`.
 *
 * @module
 */
import { DATASET_CACHE_DIR } from "../lib/data/dataset_cache_io.ts";
import { missingParts } from "./missing_data.ts";
import { CASCADE_NAMES, type CascadeFace, createCascadeDetector } from "../lib/face/cascades_io.ts";
import { cropBoxForDetection } from "../lib/data/crop.ts";
import { framingOf, framingSpread, quantiles } from "../lib/face/framing.ts";
import { pointBounds, squareBoxAround } from "../lib/data/crop.ts";
import { landmarks68ToKaggle15 } from "../lib/data/landmarks68_io.ts";
import { loadDataset } from "../lib/data/spec_io.ts";
import { groupSplit } from "../lib/data/split.ts";
import { matchDetection } from "../lib/evaluate/end_to_end_io.ts";
import { readGray } from "../lib/core/image_io.ts";
import type { CropSource } from "../lib/data/types.ts";

const DATA = Deno.env.get("FKD_FRAMING_DATA") ?? "../shared/data/ytf68+../shared/data/300w";
const PHOTOS = Number(Deno.env.get("FKD_FRAMING_PHOTOS") ?? 150);

const f3 = (v: number) => Number.isFinite(v) ? v.toFixed(3) : "–";
const range = (q: { p5: number; p50: number; p95: number }) => `${f3(q.p50)} (${f3(q.p5)}…${f3(q.p95)})`;

/** Side and centre of the 68 landmarks' bounding box. */
function landmarkFrame(l: ArrayLike<number>) {
  const b = pointBounds(l);
  return {
    side: Math.max(b.maxX - b.minX, b.maxY - b.minY),
    cx: (b.minX + b.maxX) / 2,
    cy: (b.minY + b.maxY) / 2,
  };
}

export async function run(): Promise<string> {
  const missing = missingParts(DATA);
  if (missing.length > 0) {
    return `skipped: no ${missing.join(", ")} (set FKD_FRAMING_DATA to photos with landmarks)`;
  }
  const ds = await loadDataset(DATA, { cacheDir: DATASET_CACHE_DIR });
  const { train } = groupSplit(ds, { validation: 0.1, seed: 0 });
  const sources = train.sources!;
  const parts = train.parts ?? new Array(train.n).fill(ds.name);

  // 15 keypoints → 68-landmark box, on every training face (no detection needed).
  const ext: number[] = [], sx: number[] = [], sy: number[] = [];
  for (const s of sources) {
    const kp = landmarks68ToKaggle15(s.landmarks68!);
    const b = pointBounds(kp);
    const side15 = Math.max(b.maxX - b.minX, b.maxY - b.minY);
    const f = landmarkFrame(s.landmarks68!);
    ext.push(f.side / side15);
    sx.push((f.cx - (b.minX + b.maxX) / 2) / side15);
    sy.push((f.cy - (b.minY + b.maxY) / 2) / side15);
  }
  const out: string[] = [
    `Training split of ${DATA}: ${train.n} faces.\n`,
    "15 keypoints' box → 68-landmark box (median, 5 %…95 %):\n",
    "| extent | shiftX | shiftY |",
    "|---|---|---|",
    `| ${range(quantiles(ext))} | ${range(quantiles(sx))} | ${range(quantiles(sy))} |`,
    "",
  ];

  // Photos per part (a photo may hold several annotated faces).
  const byPart = new Map<string, Map<string, CropSource[]>>();
  sources.forEach((s, i) => {
    const photos = byPart.get(parts[i]) ?? new Map<string, CropSource[]>();
    byPart.set(parts[i], photos);
    photos.set(s.file, [...(photos.get(s.file) ?? []), s]);
  });

  const configs: { name: string; cascades: (typeof CASCADE_NAMES[number])[] }[] = [
    ...CASCADE_NAMES.map((c) => ({ name: c, cascades: [c] })),
    { name: "chain default→alt2→profile→turned→edges", cascades: [...CASCADE_NAMES] },
  ];
  const rows: string[] = [
    "| part | detector | photos | faces | detected | unmatched boxes / photo | ms / photo | box → landmark box extent | shiftX | shiftY | crop scale vs training | crop dx | crop dy |",
    "|---|---|---:|---:|---:|---:|---:|---|---|---|---|---|---|",
  ];
  for (const { name, cascades } of configs) {
    // A single cascade is measured alone; the chain with its turned and edge-extended retries, as predict
    // runs it.
    const detector = await createCascadeDetector({
      cascades,
      ...(cascades.length === 1 ? { rotations: [], edgePad: 0 } : {}),
    });
    for (const [part, photos] of byPart) {
      const files = [...photos.keys()].slice(0, PHOTOS);
      let faces = 0, found = 0, unmatched = 0, ms = 0;
      const rel = { e: [] as number[], x: [] as number[], y: [] as number[] };
      const framings = [];
      for (const file of files) {
        const gray = await readGray(file);
        const t = performance.now();
        const boxes: CascadeFace[] = detector.detect(gray);
        ms += performance.now() - t;
        const used = new Set<CascadeFace>();
        for (const s of photos.get(file)!) {
          faces++;
          const m = matchDetection(boxes, s.landmarks68!) as CascadeFace | null;
          if (!m) continue;
          found++;
          used.add(m);
          const side = Math.max(m.width, m.height);
          const f = landmarkFrame(s.landmarks68!);
          const sign = m.mirrored ? -1 : 1; // calibrate as for a face found on the unmirrored photo
          rel.e.push(f.side / side);
          rel.x.push(sign * (f.cx - (m.x + (m.width - 1) / 2)) / side);
          rel.y.push((f.cy - (m.y + (m.height - 1) / 2)) / side);
          framings.push(framingOf(cropBoxForDetection(m), squareBoxAround(s.landmarks68!)));
        }
        unmatched += boxes.filter((b) => !used.has(b)).length;
      }
      const sp = framingSpread(framings);
      rows.push(
        `| ${part} | ${name} | ${files.length} | ${faces} | ${(100 * found / faces).toFixed(1)} % | ` +
          `${(unmatched / files.length).toFixed(2)} | ${(ms / files.length).toFixed(0)} | ` +
          `${range(quantiles(rel.e))} | ${range(quantiles(rel.x))} | ${range(quantiles(rel.y))} | ` +
          `${range(sp.scale)} | ${range(sp.dx)} | ${range(sp.dy)} |`,
      );
    }
    detector.close();
  }
  out.push(
    `Detection on at most ${PHOTOS} training photos per part (unmatched boxes include real faces that 300-W ` +
      "does not annotate); crop framing = the crop `cropBoxForDetection` cuts, against the training crop " +
      "(scale = side ratio, dx/dy = centre offset in training-crop sides):\n",
    ...rows,
  );
  return out.join("\n");
}

if (import.meta.main) console.log(await run());
