/**
 * LeNet training speed in turns on the machine at hand: the project's wasm step against PyTorch's same
 * LeNet (`--vs-pytorch`, Debian's `python3-torch`; skipped with a note where it is missing) and/or against
 * the same wasm step with the relaxed-SIMD FMA kernels off (`--fma-ab`). Each round measures every side
 * once, one after the other, so that load from other jobs hits all sides alike; the report gives each
 * side's median images/s and the median of the per-round ratios. Then one whole epoch per side (the
 * training loop with batching, shuffling and, on wasm, augmentation) shows whether the loop keeps up with
 * its step. Besides wall-clock images/s, images per CPU-second (the process's, all threads) are given: on
 * a busy machine wall time mostly measures the other jobs, CPU time still measures the work.
 *
 * `deno task bench train --vs-pytorch [--fma-ab] [--rounds 5] [--steps 4] [--epoch-images 320]`
 * (`--epoch-images 0`: no epochs)
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { FusedAdamOptimizer } from "../lib/kernels/fused_adam.ts";
import { initBackend } from "../lib/backend_io.ts";
import { syntheticDataset } from "../lib/data/synthetic.ts";
import { fmaRouting } from "../lib/kernels/fma_kernels.ts";
import { createModel } from "../lib/models/mod.ts";
import { train } from "../lib/train/train_io.ts";
import { trainStep } from "../lib/train/train_step.ts";
import { cpuMs } from "./kernels_bench.ts";
import { UsageError } from "../lib/core/errors.ts";

/** Options of {@link runTurns}. */
export interface TurnOptions {
  vsPytorch: boolean;
  fmaAb: boolean;
  rounds: number;
  steps: number;
  epochImages: number;
}

/** Images per second of wall time and of CPU time. */
interface Speed {
  wall: number;
  cpu: number;
}

/** One competitor: a step measurement and an epoch measurement. */
interface Side {
  name: string;
  step(steps: number): Promise<Speed>;
  epoch(images: number): Promise<Speed>;
  close?(): void;
}

/** Times `f` (wall and process CPU) and returns images per second of each. */
async function speedOf(images: number, f: () => Promise<unknown> | unknown): Promise<Speed> {
  const t = performance.now(), c = cpuMs();
  await f();
  return { wall: images * 1000 / (performance.now() - t), cpu: images * 1000 / (cpuMs() - c) };
}

const BATCH = 32;

/** Reads `--name value` flags. */
export function parseTurnOptions(args: string[]): TurnOptions {
  const value = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    if (i < 0) return fallback;
    const v = Number(args[i + 1]);
    const least = name === "--epoch-images" ? 0 : 1;
    if (!Number.isInteger(v) || v < least) {
      throw new UsageError(`${name} needs an integer ≥ ${least}, got ${args[i + 1]}`);
    }
    return v;
  };
  return {
    vsPytorch: args.includes("--vs-pytorch"),
    fmaAb: args.includes("--fma-ab"),
    rounds: value("--rounds", 5),
    steps: value("--steps", 4),
    epochImages: value("--epoch-images", 320),
  };
}

function wasmSide(name: string, fma: boolean): Side {
  const model = createModel("lenet", { seed: 0 });
  const optimizer = new FusedAdamOptimizer(1e-3);
  const x = tf.randomUniform([BATCH, 96, 96, 1], 0, 1, "float32", 1) as tf.Tensor4D;
  const y = tf.randomUniform([BATCH, 30], -1, 1, "float32", 2) as tf.Tensor2D;
  const mask = tf.onesLike(y) as tf.Tensor2D;
  const withFma = <T>(f: () => T): T => {
    const before = fmaRouting.enabled;
    fmaRouting.enabled = fma;
    try {
      return f();
    } finally {
      fmaRouting.enabled = before;
    }
  };
  withFma(() => trainStep(model, optimizer, { x, y, mask })); // warm-up: kernel setup, weight packing
  return {
    name,
    step: (steps) =>
      withFma(() =>
        speedOf(BATCH * steps, () => {
          for (let i = 0; i < steps; i++) trainStep(model, optimizer, { x, y, mask });
        })
      ),
    async epoch(images) {
      // Two epochs, the second measured: the first pays for kernel setup on the fresh model.
      const data = syntheticDataset({ n: Math.ceil(images / 0.9), seed: 1 });
      const before = fmaRouting.enabled;
      fmaRouting.enabled = fma;
      // CPU from the end of epoch 2's first batch to the end of its last: batches − 1 full batches.
      let first = 0, last = 0, batches = 0;
      try {
        const result = await train(data, { model: "lenet", epochs: 2, batchSize: BATCH, validation: 0.1 }, {
          onBatch: (b) => {
            if (b.epoch !== 2) return;
            if (b.batch === 1) first = cpuMs();
            if (b.batch === b.batches - 1) [last, batches] = [cpuMs(), b.batches - 2];
          },
        });
        result.model.dispose();
        return {
          wall: result.history[1].images_per_sec,
          cpu: batches > 0 ? batches * BATCH * 1000 / (last - first) : NaN,
        };
      } finally {
        fmaRouting.enabled = before;
      }
    },
    close: () => {
      tf.dispose([x, y, mask]);
      optimizer.dispose();
      model.dispose();
    },
  };
}

/** PyTorch's LeNet in a long-lived `bench/torch_lenet.py --serve` process; undefined when torch is missing. */
async function torchSide(threads: number): Promise<Side | string> {
  const script = new URL("./torch_lenet.py", import.meta.url).pathname;
  for (const python of ["/usr/bin/python3", "python3"]) {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(python, {
        args: [script, "--serve", "--threads", String(threads)],
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
      }).spawn();
    } catch {
      continue;
    }
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    const readLine = async (): Promise<string | undefined> => {
      while (!buffered.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) return undefined;
        buffered += value;
      }
      const i = buffered.indexOf("\n");
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      return line;
    };
    const hello = await readLine(); // {"torch": version} once the model is built and warmed up
    if (!hello) {
      await child.status;
      continue;
    }
    const version = JSON.parse(hello).torch as string;
    const writer = child.stdin.getWriter();
    const ask = async (cmd: string): Promise<Speed> => {
      await writer.write(new TextEncoder().encode(cmd + "\n"));
      const answer = await readLine();
      if (!answer) throw new Error(`PyTorch process ended during "${cmd}"`);
      const { img_s, img_cpu_s } = JSON.parse(answer);
      return { wall: img_s, cpu: img_cpu_s };
    };
    return {
      name: `PyTorch ${version} CPU, ${threads} thread${threads > 1 ? "s" : ""}`,
      step: (steps) => ask(`step ${steps}`),
      epoch: (images) => ask(`epoch ${images}`),
      close: () => {
        writer.close().catch(() => {});
        lines.cancel().catch(() => {});
      },
    };
  }
  return "PyTorch skipped: `python3 -c 'import torch'` fails here (Debian: apt-get install python3-torch)";
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const fmt = (v: number) => v.toPrecision(3);

/** Runs the rounds and returns a markdown report. */
export async function runTurns(opts: TurnOptions): Promise<string> {
  const report = await initBackend({ backend: "wasm" });
  const notes: string[] = [];
  const sides: Side[] = [wasmSide(opts.fmaAb ? "wasm, FMA kernels" : "wasm", true)];
  if (opts.fmaAb) sides.push(wasmSide("wasm, XNNPACK only", false));
  if (opts.vsPytorch) {
    const torch = await torchSide(report.threads);
    if (typeof torch === "string") notes.push(torch);
    else sides.push(torch);
  }
  const steps: Speed[][] = sides.map(() => []);
  const epochs: Speed[] = [];
  try {
    for (let r = 0; r < opts.rounds; r++) {
      // Alternate who goes first, so that neither side always follows the other's heat.
      const order = sides.map((_, i) => (i + r) % sides.length);
      for (const i of order) {
        steps[i].push(await sides[i].step(opts.steps));
        // As it goes (stderr), so that a run cut short still tells something.
        const { wall, cpu } = steps[i][r];
        console.error(`round ${r + 1}: ${sides[i].name}: ${fmt(wall)} img/s, ${fmt(cpu)} img per CPU-s`);
      }
    }
    for (const side of sides) {
      epochs.push(opts.epochImages > 0 ? await side.epoch(opts.epochImages) : { wall: NaN, cpu: NaN });
    }
  } finally {
    for (const s of sides) s.close?.();
  }
  const wall = (i: number) => steps[i].map((v) => v.wall);
  const cpu = (i: number) => steps[i].map((v) => v.cpu);
  const lines = [
    "| side | step img/s (median) | per round | step img per CPU-s | epoch img/s | epoch img per CPU-s | epoch ÷ step |",
    "|---|---|---|---|---|---|---|",
    ...sides.map((s, i) =>
      `| ${s.name} | ${fmt(median(wall(i)))} | ${wall(i).map(fmt).join(", ")} | ${fmt(median(cpu(i)))} | ` +
      `${fmt(epochs[i].wall)} | ${fmt(epochs[i].cpu)} | ${(epochs[i].wall / median(wall(i))).toFixed(2)} |`
    ),
    "",
  ];
  for (let i = 1; i < sides.length; i++) {
    const ratios = (of: (i: number) => number[]) => of(0).map((v, r) => v / of(i)[r]);
    lines.push(
      `${sides[0].name} ÷ ${sides[i].name}: step ${median(ratios(wall)).toFixed(2)}× wall-clock (median of ` +
        `${opts.rounds} in-turn rounds; per round ${ratios(wall).map((v) => v.toFixed(2)).join(", ")}), ` +
        `${median(ratios(cpu)).toFixed(2)}× per CPU-second; epoch ${
          (epochs[0].wall / epochs[i].wall).toFixed(2)
        }× ` +
        `wall-clock, ${(epochs[0].cpu / epochs[i].cpu).toFixed(2)}× per CPU-second.`,
    );
  }
  lines.push(
    "",
    `LeNet, batch ${BATCH}, Adam, masked MSE; ${opts.steps} steps per round after a warm-up; epoch: ` +
      `${opts.epochImages} images (wasm: the second of two \`train()\` epochs on synthetic faces, with ` +
      `the default augmentation, its validation pass not counted; PyTorch: one pass of shuffled in-memory batches). wasm: ` +
      `${report.threads} thread(s), FMA kernels ${report.fma}. ${navigator.hardwareConcurrency} cores.`,
  );
  if (notes.length) lines.push("", ...notes);
  return lines.join("\n");
}
