/**
 * Training and inference speed of every model on the webgpu backend, for a machine with a real GPU:
 * step and whole-epoch images/s (batch 32) and inference images/s (batch 64), as `train_bench.ts`
 * measures them. Refuses a software adapter (llvmpipe) unless `--allow-software`, as its figures say
 * nothing about a GPU.
 *
 * `sh bench/gpu.sh [--allow-software] [--models lenet,resnet50]` (env `FKD_BENCH_STEPS`, `FKD_BENCH_EPOCH_IMAGES` as in
 * train_bench.ts).
 *
 * @module
 */
import { initBackend } from "../lib/backend_io.ts";
import { isModelName, MODEL_NAMES, type ModelName } from "../lib/models/mod.ts";
import { UsageError } from "../lib/core/errors.ts";
import { measure, type Row } from "./train_bench.ts";

/** Runs the models on webgpu and returns a markdown table (or throws when no suitable adapter exists). */
export async function run(flags: string[] = []): Promise<string> {
  const allowSoftware = flags.includes("--allow-software");
  const first = await initBackend({ allowSoftwareGpu: allowSoftware });
  if (first.backend !== "webgpu") {
    throw new Error(`no ${allowSoftware ? "" : "hardware "}WebGPU adapter: ${first.reasons.webgpu}`);
  }
  const gpu = (navigator as Navigator & { gpu: GPU }).gpu;
  const info = (await gpu.requestAdapter())?.info;
  const steps = Number(Deno.env.get("FKD_BENCH_STEPS") ?? 3);
  const i = flags.indexOf("--models");
  const names = i >= 0 ? flags[i + 1]?.split(",") ?? [] : [...MODEL_NAMES];
  const unknown = names.filter((n) => !isModelName(n));
  if (unknown.length || !names.length) {
    throw new UsageError(
      `--models: unknown ${unknown.join(", ")}; expected some of ${MODEL_NAMES.join(", ")}`,
    );
  }
  const rows: Row[] = [];
  for (const name of names as ModelName[]) rows.push(await measure(name, "webgpu", 32, steps));
  return [
    `WebGPU adapter: ${
      [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(" ")
    }`,
    "",
    "| model | batch | step img/s | epoch img/s | infer img/s (b64) |",
    "|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.model} | ${r.batch} | ${r.trainImgS} | ${r.epochImgS} | ${r.inferImgS} |`),
    "",
    `${steps} measured steps after one warm-up; epoch: the second of two \`train()\` epochs of synthetic ` +
    `faces (FKD_BENCH_EPOCH_IMAGES, default 128), augmented, validation not counted.`,
  ].join("\n");
}

if (import.meta.main) console.log(await run(Deno.args));
