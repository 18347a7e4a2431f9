/**
 * LeNet training speed in turns on the machine at hand: the project's wasm step against PyTorch's same
 * LeNet (`--vs-pytorch`, Debian's `python3-torch`; skipped with a note where it is missing) and/or against
 * the same wasm step with the relaxed-SIMD FMA kernels off (`--fma-ab`). Each round measures every side
 * once, one after the other, so that load from other jobs hits all sides alike; the report gives each
 * side's median images/s and the median of the per-round ratios. Then one whole epoch per side (the
 * training loop with batching, shuffling and, on wasm, augmentation) shows whether the loop keeps up with
 * its step.
 *
 * `deno task bench train --vs-pytorch [--fma-ab] [--rounds 5] [--steps 4] [--epoch-images 320]`
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend.ts";
import { syntheticDataset } from "../lib/data/synthetic.ts";
import { fmaRouting } from "../lib/kernels/fma_kernels.ts";
import { createModel } from "../lib/models/mod.ts";
import { train } from "../lib/train.ts";
import { trainStep } from "../lib/train_step.ts";

/** Options of {@link runTurns}. */
export interface TurnOptions {
  vsPytorch: boolean;
  fmaAb: boolean;
  rounds: number;
  steps: number;
  epochImages: number;
}

/** One competitor: a step measurement and an epoch measurement, each returning images/s. */
interface Side {
  name: string;
  step(steps: number): Promise<number>;
  epoch(images: number): Promise<number>;
  close?(): void;
}

const BATCH = 32;

/** Reads `--name value` flags. */
export function parseTurnOptions(args: string[]): TurnOptions {
  const value = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    if (i < 0) return fallback;
    const v = Number(args[i + 1]);
    if (!Number.isInteger(v) || v < 1) {
      throw new Error(`${name} needs a positive integer, got ${args[i + 1]}`);
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
  const optimizer = tf.train.adam(1e-3);
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
      Promise.resolve(withFma(() => {
        const t = performance.now();
        for (let i = 0; i < steps; i++) trainStep(model, optimizer, { x, y, mask });
        return BATCH * steps * 1000 / (performance.now() - t);
      })),
    async epoch(images) {
      // Two epochs, the second measured: the first pays for kernel setup on the fresh model.
      const data = syntheticDataset({ n: Math.ceil(images / 0.9), seed: 1 });
      const before = fmaRouting.enabled;
      fmaRouting.enabled = fma;
      try {
        const result = await train(data, { model: "lenet", epochs: 2, batchSize: BATCH, validation: 0.1 });
        result.model.dispose();
        return result.history[1].images_per_sec;
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
    const ask = async (cmd: string): Promise<number> => {
      await writer.write(new TextEncoder().encode(cmd + "\n"));
      const answer = await readLine();
      if (!answer) throw new Error(`PyTorch process ended during "${cmd}"`);
      return JSON.parse(answer).img_s as number;
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
  const steps: number[][] = sides.map(() => []);
  const epochs: number[][] = sides.map(() => []);
  try {
    for (let r = 0; r < opts.rounds; r++) {
      // Alternate who goes first, so that neither side always follows the other's heat.
      const order = sides.map((_, i) => (i + r) % sides.length);
      for (const i of order) steps[i].push(await sides[i].step(opts.steps));
    }
    for (const i of sides.map((_, i) => i)) epochs[i].push(await sides[i].epoch(opts.epochImages));
  } finally {
    for (const s of sides) s.close?.();
  }
  const lines = [
    "| side | step img/s (median) | per round | epoch img/s | epoch ÷ step |",
    "|---|---|---|---|---|",
    ...sides.map((s, i) => {
      const step = median(steps[i]);
      return `| ${s.name} | ${fmt(step)} | ${steps[i].map(fmt).join(", ")} | ${fmt(epochs[i][0])} | ${
        (epochs[i][0] / step).toFixed(2)
      } |`;
    }),
    "",
  ];
  for (let i = 1; i < sides.length; i++) {
    const ratios = steps[0].map((v, r) => v / steps[i][r]);
    lines.push(
      `${sides[0].name} ÷ ${sides[i].name}: step ${median(ratios).toFixed(2)}× (median of ${opts.rounds} ` +
        `in-turn rounds; per round ${ratios.map((v) => v.toFixed(2)).join(", ")}), epoch ` +
        `${(epochs[0][0] / epochs[i][0]).toFixed(2)}×.`,
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
