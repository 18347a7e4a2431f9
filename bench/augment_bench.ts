/**
 * Augmentation throughput: images per second of each transform alone (always applied) and of the default
 * pipeline, through `augmentBatch` on batches of 32 synthetic-looking faces, plus the cost of one batch of
 * 32 in milliseconds (compare: one LeNet training step on wasm is ≈1.25 s).
 *
 * Run alone: `deno run -A bench/augment_bench.ts`.
 *
 * @module
 */
import { PIXELS } from "../lib/core/constants.ts";
import {
  augmentBatch,
  type Augmenter,
  brightness,
  compose,
  contrast,
  defaultAugmentation,
  gamma,
  gaussianBlur,
  gaussianNoise,
  horizontalFlip,
  rotate,
  scale,
  shift,
  shiftScaleRotate,
} from "../lib/augment/augment.ts";
import { Rng } from "../lib/core/rng.ts";

const BATCH = 32;

function batchOfFaces(rng: Rng): { images: Float32Array; keypoints: Float32Array } {
  const images = new Float32Array(BATCH * PIXELS), keypoints = new Float32Array(BATCH * 30);
  for (let i = 0; i < images.length; i++) images[i] = rng.next();
  for (let i = 0; i < keypoints.length; i++) keypoints[i] = 30 + 36 * rng.next();
  return { images, keypoints };
}

/** Milliseconds per batch of 32: median of timed repetitions after a warm-up. */
function timeBatch(
  aug: Augmenter,
  data: { images: Float32Array; keypoints: Float32Array },
  rng: Rng,
): number {
  for (let i = 0; i < 5; i++) augmentBatch(aug, data.images, data.keypoints, BATCH, rng);
  const times: number[] = [];
  const until = performance.now() + 400;
  while (times.length < 10 || (performance.now() < until && times.length < 200)) {
    const t0 = performance.now();
    augmentBatch(aug, data.images, data.keypoints, BATCH, rng);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Runs the benchmark and returns a markdown table. */
export async function run(): Promise<string> {
  const rng = new Rng(0);
  const data = batchOfFaces(rng);
  const cases: [string, Augmenter][] = [
    ["none (copy only)", compose([])],
    ["horizontalFlip", compose([horizontalFlip({ p: 1 })])],
    ["rotate ±15°", compose([rotate({ p: 1 })], { keepEyes: false })],
    ["scale 0.9–1.1", compose([scale({ p: 1 })], { keepEyes: false })],
    ["shift ±10%", compose([shift({ p: 1 })], { keepEyes: false })],
    ["shiftScaleRotate (one matrix)", compose([shiftScaleRotate({ p: 1 })], { keepEyes: false })],
    [
      "flip+rotate+scale+shift, edge fill",
      compose([horizontalFlip({ p: 1 }), rotate({ p: 1 }), scale({ p: 1 }), shift({ p: 1 })], {
        fill: "edge",
        keepEyes: false,
      }),
    ],
    ["brightness", compose([brightness({ p: 1 })])],
    ["contrast", compose([contrast({ p: 1 })])],
    ["gamma", compose([gamma({ p: 1 })])],
    ["gaussianNoise", compose([gaussianNoise({ p: 1 })])],
    ["gaussianBlur", compose([gaussianBlur({ p: 1 })])],
    ["defaultAugmentation()", defaultAugmentation()],
  ];
  const rows = ["| transform | ms / batch of 32 | images/s |", "|---|---:|---:|"];
  for (const [name, aug] of cases) {
    const ms = timeBatch(aug, data, rng);
    rows.push(`| ${name} | ${ms.toFixed(2)} | ${Math.round(BATCH / (ms / 1000)).toLocaleString("en-US")} |`);
    await new Promise((r) => setTimeout(r, 0)); // let other work (a bench runner's output) through
  }
  rows.push("", "Median of repeated batches after a warm-up; single-threaded; 96×96 float32 faces.");
  return rows.join("\n");
}

if (import.meta.main) console.log(await run());
