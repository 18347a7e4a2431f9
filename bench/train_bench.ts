/**
 * Training and inference throughput of the project's models per backend, with PyTorch's LeNet on the CPU
 * measured in the same run for reference.
 *
 * Model (every model of the registry) × backend (wasm; cpu for LeNet only, at batch 4, as it is ~250×
 * slower; webgpu where a hardware adapter exists) → training images/s of the step (batch 32, Adam, masked
 * MSE; ResNet-50 in heap-sized micro-batches) and of a whole `train()` epoch (batching, augmentation: a
 * regression of the loop shows as epoch ≪ step), inference images/s (batch 64), peak memory (process RSS
 * and the wasm heap, which never shrinks, so its size is its peak). Few steps each: numbers are noisy on a
 * shared machine.
 *
 * Run alone: `deno run -A bench/train_bench.ts` (env `FKD_BENCH_STEPS` = measured steps, default 2; LeNet
 * runs twice as many; `FKD_BENCH_EPOCH_IMAGES` = images of the measured epoch, default 128, 0 = none).
 * Threads: `FKD_WASM_THREADS` (default: all cores).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { FusedAdamOptimizer } from "../lib/kernels/fused_adam.ts";
import { type BackendName, initBackend } from "../lib/backend_io.ts";
import { createModel, MODEL_NAMES, type ModelName } from "../lib/models/mod.ts";
import { autoMicroBatch, trainStepAsync } from "../lib/train/train_step.ts";
import { syntheticDataset } from "../lib/data/synthetic.ts";
import { train as trainLoop } from "../lib/train/train_io.ts";
import { parseTurnOptions, runTurns } from "./train_turns.ts";

/** One row of the table. */
export interface Row {
  model: string;
  backend: string;
  batch: string;
  trainImgS: number | string;
  epochImgS: number | string;
  inferImgS: number | string;
  rssMB: number;
  heapMB: number | string;
}

const STEPS = Number(Deno.env.get("FKD_BENCH_STEPS") ?? 2);
const EPOCH_IMAGES = Number(Deno.env.get("FKD_BENCH_EPOCH_IMAGES") ?? 128);

function wasmHeapMB(): number | string {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } };
  return b.wasm ? Math.round(b.wasm.HEAPU8.length / 1e6) : "–";
}

/**
 * Images/s of the second of two `train()` epochs of `images` synthetic faces (the first pays for kernel
 * setup); "–" when `images` is 0.
 */
async function epochImagesPerSec(name: ModelName, batch: number, images: number): Promise<number | string> {
  if (images <= 0) return "–";
  try {
    const data = syntheticDataset({ n: Math.ceil(images / 0.9), seed: 1 });
    const result = await trainLoop(data, { model: name, epochs: 2, batchSize: batch, validation: 0.1 });
    result.model.dispose();
    return +result.history[1].images_per_sec.toPrecision(3);
  } catch (e) {
    return `failed: ${e instanceof Error ? e.message.slice(0, 60) : e}`;
  }
}

/** One row: step, epoch and inference speed of `name` on `backend` (already started). */
export async function measure(
  name: ModelName,
  backend: BackendName,
  batch: number,
  steps: number,
  epochImages = EPOCH_IMAGES,
): Promise<Row> {
  await initBackend({ backend });
  const model = createModel(name, { seed: 0 });
  const optimizer = new FusedAdamOptimizer(1e-3);
  const x = tf.randomUniform([batch, 96, 96, 1], 0, 1, "float32", 1) as tf.Tensor4D;
  const y = tf.randomUniform([batch, 30], -1, 1, "float32", 2) as tf.Tensor2D;
  const mask = tf.onesLike(y) as tf.Tensor2D;
  const microBatch = autoMicroBatch(model, batch);
  let train: number | string;
  try {
    await trainStepAsync(model, optimizer, { x, y, mask }, { microBatch }); // warm-up (setup, packing)
    const t = performance.now();
    for (let i = 0; i < steps; i++) await trainStepAsync(model, optimizer, { x, y, mask }, { microBatch });
    train = +(batch * steps * 1000 / (performance.now() - t)).toPrecision(3);
  } catch (e) {
    train = `failed: ${e instanceof Error ? e.message.slice(0, 60) : e}`;
  }
  const inferBatch = backend === "cpu" ? 8 : 64;
  const xi = tf.randomUniform([inferBatch, 96, 96, 1]) as tf.Tensor4D;
  // Asynchronous reads: webgpu's synchronous read needs an OffscreenCanvas, which Deno lacks.
  const predict = async () => {
    const y = tf.tidy(() => model.predict(xi) as tf.Tensor);
    await y.data();
    y.dispose();
  };
  await predict();
  const t = performance.now();
  for (let i = 0; i < steps; i++) await predict();
  const infer = +(inferBatch * steps * 1000 / (performance.now() - t)).toPrecision(3);
  const row: Row = {
    model: name,
    backend,
    batch: microBatch < batch ? `${batch} (${Math.ceil(batch / microBatch)}×≤${microBatch})` : String(batch),
    trainImgS: train,
    epochImgS: backend === "cpu" ? "–" : await epochImagesPerSec(name, batch, epochImages),
    inferImgS: backend === "cpu" ? `${infer} (b${inferBatch})` : infer,
    rssMB: Math.round(Deno.memoryUsage().rss / 1e6),
    heapMB: backend === "wasm" ? wasmHeapMB() : "–",
  };
  tf.dispose([x, y, mask, xi]);
  optimizer.dispose();
  model.dispose();
  return row;
}

/** Runs bench/torch_lenet.py with Debian's python3 if torch imports there; undefined otherwise. */
async function torchRows(): Promise<Row[] | string> {
  for (const python of ["/usr/bin/python3", "python3"]) {
    try {
      const script = new URL("./torch_lenet.py", import.meta.url).pathname;
      const out = await new Deno.Command(python, { args: [script, "--steps", String(Math.max(STEPS, 3))] })
        .output();
      if (!out.success) continue;
      const json = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
      return json.results.map((r: { threads: number; train_img_s: number; infer_img_s: number }) => ({
        model: "lenet",
        backend: `PyTorch ${json.torch} CPU, ${r.threads} thread${r.threads > 1 ? "s" : ""}`,
        batch: "32",
        trainImgS: r.train_img_s,
        epochImgS: "–",
        inferImgS: r.infer_img_s,
        rssMB: NaN,
        heapMB: "–",
      }));
    } catch {
      // try the next interpreter
    }
  }
  return "PyTorch not measured: `python3 -c 'import torch'` fails (Debian: apt-get install python3-torch)";
}

/**
 * One line comparing wasm LeNet with PyTorch at the same thread count (training and inference), and
 * inference against PyTorch on one thread (the reference the target was set against).
 */
function ratios(rows: Row[], threads: number): string {
  const wasm = rows.find((r) => r.model === "lenet" && r.backend === "wasm");
  const same = rows.find((r) => r.backend.startsWith("PyTorch") && r.backend.includes(`, ${threads} thread`));
  const one = rows.find((r) => r.backend.startsWith("PyTorch") && r.backend.includes(", 1 thread"));
  if (!wasm || typeof wasm.trainImgS !== "number" || !same || !one) return "";
  const f = (a: number | string, b: number | string) => (Number(a) / Number(b)).toFixed(2);
  return `LeNet, wasm ÷ PyTorch with ${threads} thread(s) each: training ${
    f(wasm.trainImgS, same.trainImgS)
  }×, ` +
    `inference ${f(wasm.inferImgS, same.inferImgS)}×; inference against PyTorch on 1 thread: ` +
    `${f(wasm.inferImgS, one.inferImgS)}×.`;
}

/**
 * Runs the benchmark and returns a markdown table; with `--vs-pytorch` or `--fma-ab`, the in-turn LeNet
 * comparison of `train_turns.ts` instead.
 */
export async function run(flags: string[] = []): Promise<string> {
  if (flags.includes("--help")) {
    return "deno task bench train [--vs-pytorch] [--fma-ab] [--rounds N] [--steps N] [--epoch-images N]";
  }
  const turns = parseTurnOptions(flags);
  if (turns.vsPytorch || turns.fmaAb) return await runTurns(turns);
  const rows: Row[] = [];
  const first = await initBackend();
  const backends: BackendName[] = first.backend === "webgpu" ? ["webgpu", "wasm"] : ["wasm"];
  for (const backend of backends) {
    for (const name of MODEL_NAMES) {
      rows.push(await measure(name, backend, 32, name === "resnet50" ? 1 : STEPS));
    }
  }
  rows.push(await measure("lenet", "cpu", 4, 1));
  const torch = await torchRows();
  if (typeof torch !== "string") rows.push(...torch);
  const report = await initBackend({ backend: "wasm" });
  const lines = [
    "| model | backend | batch (train) | step img/s | epoch img/s | infer img/s (b64) | RSS MB | wasm heap MB |",
    "|---|---|---|---|---|---|---|---|",
    ...rows.map((r) =>
      `| ${r.model} | ${r.backend} | ${r.batch} | ${r.trainImgS} | ${r.epochImgS} | ${r.inferImgS} | ${
        Number.isNaN(r.rssMB) ? "–" : r.rssMB
      } | ${r.heapMB} |`
    ),
    "",
    `wasm: ${report.threads} thread(s), SIMD ${report.simd}; ${STEPS} measured step(s) after one warm-up ` +
    `(LeNet: ${
      2 * STEPS
    }, ResNet-50: 1); epoch: the second of two \`train()\` epochs of ${EPOCH_IMAGES} synthetic faces ` +
    `(augmented; validation not counted); cpu LeNet at batch 4 (one step), inference batch 8. RSS is the ` +
    `whole process so far. FMA kernels: ${report.fma}. ` +
    `Passed over: ${JSON.stringify(first.reasons)}. Shared machine: timings are noisy.`,
  ];
  if (typeof torch === "string") lines.push("", torch);
  else lines.push("", ratios(rows, report.threads));
  return lines.join("\n");
}

if (import.meta.main) console.log(await run());
