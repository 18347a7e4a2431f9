/**
 * Benchmark of the Kaggle CSV reader on a generated file of Kaggle's size: 7049 rows, 30 keypoint columns
 * (≈70% of rows missing some, as in Kaggle's training.csv) and 9216 random pixels (≈230 MB).
 *
 * Each read runs in its own Deno subprocess, which reports its time and its peak resident memory (VmHWM
 * from /proc/self/status), so the generator's memory is not counted. Rows:
 * - `readKaggleCsv` (the library: streamed bytes parsed straight into typed arrays);
 * - `readKaggleLabels` (keypoint columns only);
 * - papaparse streaming (`step`, Node read stream) with two ways of turning the `Image` string into numbers,
 *   `split(" ").map(Number)` and a `charCodeAt` loop, for comparison;
 * - a bare Deno process importing the library (the baseline memory).
 *
 * Run alone: `deno run -A bench/csv_bench.ts` (or `deno task bench csv`).
 *
 * @module
 */
// @ts-types="@types/papaparse"
import Papa from "papaparse";
import { createReadStream } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { KEYPOINT_COLUMNS, KEYPOINT_NAMES, NUM_COORDS } from "../lib/core/constants.ts";
import { PIXELS } from "../lib/core/constants.ts";
import { readKaggleCsv, readKaggleLabels, writeKaggleCsv } from "../lib/data/kaggle_io.ts";
import type { KeypointDataset } from "../lib/data/types.ts";
import { Rng } from "../lib/core/rng.ts";

const ROWS = 7049;
const COMPLETE = 2140; // rows of Kaggle's training.csv with all 15 keypoints
/** The 4 keypoints nearly every Kaggle row has; the other 11 are missing in ≈70% of rows. */
const ALWAYS = ["left_eye_center", "right_eye_center", "nose_tip", "mouth_center_bottom_lip"];

/** Typical Kaggle positions (x, y) of the 15 keypoints, in KEYPOINT_NAMES order. */
const MEAN_POSITIONS = [
  [66.4, 37.7],
  [30.3, 37.6],
  [59.2, 37.9],
  [73.3, 37.7],
  [36.7, 37.99],
  [22.4, 38.0],
  [56.1, 29.3],
  [79.5, 29.9],
  [39.3, 29.6],
  [15.9, 30.4],
  [48.4, 62.7],
  [63.3, 75.97],
  [32.97, 76.2],
  [47.98, 72.9],
  [48.6, 78.97],
];

/** A Kaggle-size dataset with random pixels and plausible keypoints, missing like Kaggle's. */
function generate(seed = 0): KeypointDataset {
  const rng = new Rng(seed);
  const images = new Float32Array(ROWS * PIXELS);
  for (let i = 0; i < images.length; i++) images[i] = rng.int(256) / 255;
  const keypoints = new Float32Array(ROWS * NUM_COORDS);
  const mask = new Uint8Array(ROWS * NUM_COORDS);
  const completeRows = new Set(rng.shuffle([...Array(ROWS).keys()]).slice(0, COMPLETE));
  for (let i = 0; i < ROWS; i++) {
    const dx = rng.normal(0, 3);
    const dy = rng.normal(0, 3);
    KEYPOINT_NAMES.forEach((name, k) => {
      const present = completeRows.has(i) || ALWAYS.includes(name);
      for (let a = 0; a < 2; a++) {
        const v = MEAN_POSITIONS[k][a] + (a === 0 ? dx : dy) + rng.normal(0, 1.5);
        keypoints[i * NUM_COORDS + 2 * k + a] = present ? Number(v.toFixed(10)) : NaN;
        mask[i * NUM_COORDS + 2 * k + a] = present ? 1 : 0;
      }
    });
  }
  return { name: "generated Kaggle-size", synthetic: true, n: ROWS, images, keypoints, mask };
}

// ---------------------------------------------------------------------------------------------------
// Child: one read, then report time and peak memory.

type Mode = "lib" | "labels" | "papaparse-split" | "papaparse-charcode" | "baseline";

function peakKb(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? NaN);
}

/** Papaparse streaming from a Node read stream, rows converted to typed arrays as they arrive. */
function readWithPapaparse(path: string, pixelsOf: "split" | "charcode"): Promise<number> {
  return new Promise((resolve, reject) => {
    const images = new Float32Array(ROWS * PIXELS);
    const keypoints = new Float32Array(ROWS * NUM_COORDS);
    let imageCol = -1;
    const kpCols: number[] = [];
    let n = -1;
    Papa.parse<string[]>(createReadStream(path) as unknown as File, {
      step: (result) => {
        const row = result.data;
        if (n < 0) {
          imageCol = row.indexOf("Image");
          for (const c of KEYPOINT_COLUMNS) kpCols.push(row.indexOf(c));
          n = 0;
          return;
        }
        if (row.length < 2) return;
        for (let c = 0; c < NUM_COORDS; c++) {
          const t = row[kpCols[c]];
          keypoints[n * NUM_COORDS + c] = t === "" ? NaN : Number(t);
        }
        const text = row[imageCol];
        const off = n * PIXELS;
        if (pixelsOf === "split") {
          const values = text.split(" ").map(Number);
          for (let p = 0; p < PIXELS; p++) images[off + p] = values[p] / 255;
        } else {
          let p = 0;
          let v = 0;
          for (let i = 0; i < text.length; i++) {
            const ch = text.charCodeAt(i);
            if (ch === 32) {
              images[off + p++] = v / 255;
              v = 0;
            } else v = v * 10 + ch - 48;
          }
          images[off + p] = v / 255;
        }
        n++;
      },
      complete: () => resolve(n),
      error: (e) => reject(e),
    });
  });
}

async function child(mode: Mode, path: string): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  if (mode === "lib") n = (await readKaggleCsv(path)).n;
  else if (mode === "labels") n = (await readKaggleLabels(path)).n;
  else if (mode === "papaparse-split") n = await readWithPapaparse(path, "split");
  else if (mode === "papaparse-charcode") n = await readWithPapaparse(path, "charcode");
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ n, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakKb: peakKb() }));
}

interface Measured {
  n: number;
  seconds: number;
  cpuSeconds: number;
  peakKb: number;
}

async function measure(mode: Mode, path: string): Promise<Measured> {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fileURLToPath(import.meta.url), "--child", mode, path],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(`csv bench child ${mode} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(text.split("\n").at(-1)!);
}

/** Generates the file, times the readers in subprocesses, and returns a markdown table. */
export async function run(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "csv_bench_" });
  try {
    const path = `${dir}/training.csv`;
    let ds: KeypointDataset | undefined = generate();
    const t0 = performance.now();
    await writeKaggleCsv(path, ds);
    const writeSeconds = (performance.now() - t0) / 1000;
    ds = undefined; // let the generator's 260 MB go before the children run
    const mb = (await Deno.stat(path)).size / 1e6;

    const rows: string[] = [
      "| step | rows | runs | wall (s), best | CPU (s), best | peak RSS (MB), worst |",
      "| --- | ---: | ---: | ---: | ---: | ---: |",
      `| writeKaggleCsv (generate the ${mb.toFixed(0)} MB file) | ${ROWS} | 1 | ${
        writeSeconds.toFixed(2)
      } | – | – |`,
    ];
    // The machine may be shared: take the best time of a few runs (and the CPU time, less disturbed by
    // other processes than the wall clock), and the worst peak memory.
    const modes: [Mode, string, number][] = [
      ["baseline", "bare Deno process importing the library", 1],
      ["lib", "**readKaggleCsv** (streamed bytes → typed arrays)", 3],
      ["labels", "readKaggleLabels (keypoints only)", 2],
      ["papaparse-charcode", "papaparse step stream + charCodeAt pixels", 3],
      ["papaparse-split", 'papaparse step stream + split(" ").map(Number)', 1],
    ];
    for (const [mode, label, runs] of modes) {
      const results: Measured[] = [];
      for (let r = 0; r < runs; r++) results.push(await measure(mode, path));
      for (const r of results) {
        if (mode !== "baseline" && r.n !== ROWS) {
          throw new Error(`${label}: read ${r.n} rows, expected ${ROWS}`);
        }
      }
      const best = (key: "seconds" | "cpuSeconds") =>
        mode === "baseline" ? "–" : Math.min(...results.map((r) => r[key])).toFixed(2);
      const peak = Math.max(...results.map((r) => r.peakKb)) / 1024;
      rows.push(
        `| ${label} | ${mode === "baseline" ? "–" : ROWS} | ${runs} | ${best("seconds")} | ${
          best("cpuSeconds")
        } | ` +
          `${peak.toFixed(0)} |`,
      );
    }
    return rows.join("\n") +
      `\n\nFile: ${
        mb.toFixed(0)
      } MB, ${ROWS} rows, ${COMPLETE} complete. Each read runs in its own subprocess; ` +
      "peak RSS is its VmHWM. The dataset's arrays alone are 260 MB (images) + 1 MB.";
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  if (Deno.args[0] === "--child") await child(Deno.args[1] as Mode, Deno.args[2]);
  else console.log(await run());
}
