/**
 * The training products one at a time, XNNPACK against the relaxed-SIMD FMA kernels (`lib/kernels/fma*.ts`),
 * on LeNet's hot shapes and on 3×3 convolutions at the sizes of the ResNets (48/24/12/6 px maps, 32–256
 * channels, batch 32). Sides alternate within each round and each figure is the fastest of its runs, the
 * figure least disturbed by other jobs on a shared machine. Both wall time and CPU time (the process's,
 * all threads) are reported: on a busy machine wall time mostly measures the other jobs, while CPU time
 * still measures the work.
 *
 * `deno task bench kernels [--lenet]` (`--lenet`: LeNet's shapes only; env `FKD_WASM_THREADS`;
 * `FKD_BENCH_REPS` = runs per side and round, default 3)
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend_io.ts";
import { fmaRouting } from "../lib/kernels/fma_kernels.ts";
import process from "node:process";

interface Case {
  label: string;
  /** Multiply-adds of the product. */
  flops: number;
  make(): { run: () => tf.Tensor; inputs: tf.Tensor[] };
}

const B = 32;

function conv(h: number, c: number, o: number, pad: "valid" | "same", stride = 1): Case[] {
  const info = tf.backend_util.computeConv2DInfo([B, h, h, c], [3, 3, c, o], stride, 1, pad);
  const flops = B * info.outHeight * info.outWidth * 9 * c * o;
  const name = `${h}×${h}×${c}→${o} ${pad}${stride > 1 ? ` /${stride}` : ""}`;
  const attrs = { strides: stride, pad, dataFormat: "NHWC", dilations: 1 };
  return [
    {
      label: `conv ${name}: filter gradient`,
      flops,
      make: () => {
        const x = tf.randomUniform([B, h, h, c]), dy = tf.randomUniform(info.outShape);
        const run = () =>
          tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
            ...attrs,
            filterShape: [3, 3, c, o],
          }) as tf.Tensor;
        return { run, inputs: [x, dy] };
      },
    },
    ...(c > 1
      ? [{
        label: `conv ${name}: input gradient`,
        flops,
        make: () => {
          const f = tf.randomUniform([3, 3, c, o]), dy = tf.randomUniform(info.outShape);
          const run = () =>
            tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: f }, {
              ...attrs,
              inputShape: [B, h, h, c],
            }) as tf.Tensor;
          return { run, inputs: [f, dy] };
        },
      }]
      : []),
  ];
}

function matMul(label: string, aShape: number[], bShape: number[], tA: boolean, tB: boolean): Case {
  const m = tA ? aShape[1] : aShape[0], k = tA ? aShape[0] : aShape[1], n = tB ? bShape[0] : bShape[1];
  return {
    label,
    flops: m * k * n,
    make: () => {
      const a = tf.randomUniform(aShape), b = tf.randomUniform(bShape);
      return { run: () => tf.matMul(a, b, tA, tB), inputs: [a, b] };
    },
  };
}

const LENET: Case[] = [
  matMul("LeNet dense1 forward x·W [32×12800]·[12800×500]", [B, 12800], [12800, 500], false, false),
  matMul("LeNet dense1 weight gradient xᵀ·dy", [B, 12800], [B, 500], true, false),
  matMul("LeNet dense1 input gradient dy·Wᵀ", [B, 500], [12800, 500], false, true),
  ...conv(96, 1, 32, "valid"),
  ...conv(47, 32, 64, "valid"),
  ...conv(22, 64, 128, "valid"),
];

const CASES: Case[] = [
  ...LENET,
  ...conv(48, 32, 32, "same"),
  ...conv(24, 64, 64, "same"),
  ...conv(12, 128, 128, "same"),
  ...conv(6, 256, 256, "same"),
  ...conv(48, 32, 64, "same", 2),
];

/** Process CPU time (user + system, all threads) in ms. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Fastest of `reps` runs: wall and CPU ms. */
function fastest(run: () => tf.Tensor, reps: number): { wall: number; cpu: number } {
  let wall = Infinity, cpu = Infinity;
  for (let i = 0; i < reps; i++) {
    const t = performance.now(), c = cpuMs();
    const y = run(); // wasm kernels run synchronously
    wall = Math.min(wall, performance.now() - t);
    cpu = Math.min(cpu, cpuMs() - c);
    y.dispose();
  }
  return { wall, cpu };
}

/** Runs the cases and returns a markdown table. */
export async function run(flags: string[] = []): Promise<string> {
  const report = await initBackend({ backend: "wasm" });
  const reps = Number(Deno.env.get("FKD_BENCH_REPS") ?? 3);
  const lines = [
    "| product | XNNPACK ms | FMA ms | XNNPACK ÷ FMA | CPU ms: XNNPACK | CPU ms: FMA | CPU ratio | FMA GFLOP/s |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const c of flags.includes("--lenet") ? LENET : CASES) {
    const { run, inputs } = c.make();
    const best = { xnn: Infinity, fma: Infinity }, cpu = { xnn: Infinity, fma: Infinity };
    try {
      for (let round = 0; round < 2; round++) {
        for (const side of round ? ["fma", "xnn"] as const : ["xnn", "fma"] as const) {
          fmaRouting.enabled = side === "fma";
          run().dispose(); // setup (XNNPACK packs its operator's weights on first use)
          const t = fastest(run, reps);
          best[side] = Math.min(best[side], t.wall);
          cpu[side] = Math.min(cpu[side], t.cpu);
        }
      }
    } finally {
      fmaRouting.enabled = true;
      tf.dispose(inputs);
    }
    const gflops = (2 * c.flops / cpu.fma / 1e6).toFixed(1);
    lines.push(
      `| ${c.label} | ${best.xnn.toFixed(1)} | ${best.fma.toFixed(1)} | ${
        (best.xnn / best.fma).toFixed(2)
      } | ` +
        `${cpu.xnn.toFixed(1)} | ${cpu.fma.toFixed(1)} | ${(cpu.xnn / cpu.fma).toFixed(2)} | ${gflops} |`,
    );
  }
  lines.push(
    "",
    `Batch 32; fastest of ${2 * reps} runs per side (2 rounds, sides alternating); GFLOP/s from the FMA ` +
      `side's CPU time. wasm: ${report.threads} ` +
      `thread(s); FMA kernels ${report.fma}. "FMA" is the path the kernels take with the FMA engine on: ` +
      `shapes below its size threshold or without an FMA form (the dense input gradient) stay on XNNPACK.`,
  );
  return lines.join("\n");
}

if (import.meta.main) console.log(await run(Deno.args));
