/**
 * Relaxed-SIMD fused multiply-add matrix products on tfjs-backend-wasm's own heap.
 *
 * `c/fma_gemm.c` (built by `c/build.sh` with Debian's clang-19; the `.wasm` files are committed) computes
 * `C[r,n] (+)= Σ_q base[rowOffsets[r] + depthOffsets[q]] · B[q·ldb + n]`, a product whose left operand is
 * gathered through two offset tables, so dense layers and convolutions (an implicit im2col) are one
 * kernel. The module imports the backend's `WebAssembly.Memory` and works on its tensors in place; with
 * the pthreads binary (shared memory) it also runs on worker threads, one instance each, sharing the work
 * through an atomic counter.
 *
 * Used only where the engine validates relaxed SIMD (V8 in Deno, current browsers); elsewhere, or with
 * `FKD_FMA=0`, {@link fmaEngine} returns undefined and the kernels stay on XNNPACK. The kernels
 * (`fma_kernels.ts`, pure) reach the engine through {@link installFmaEngine}, which `initBackend` calls.
 *
 * @module
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import wt from "node:worker_threads";
import { type AdamJob, type FmaEngine, fmaRouting, type GemmJob, type PoolGradJob } from "./fma_kernels.ts";

interface EmscriptenModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory?: WebAssembly.Memory };
}

/** Fields of the C `Job` struct, in order (int32 each). */
const JOB_FIELDS = [
  "base",
  "rows",
  "cols",
  "depth",
  "rOff",
  "qOff",
  "b",
  "ldb",
  "c",
  "ldc",
  "accumulate",
  "unitRows",
  "unitCols",
  "counter",
  "bias",
  "relu",
] as const;
/** Fields of the C `PoolJob` struct (heap_simd.c), in order (int32 each). */
const POOL_FIELDS = [
  "x",
  "dy",
  "dx",
  "nb",
  "h",
  "w",
  "c",
  "oh",
  "ow",
  "fh",
  "fw",
  "sh",
  "sw",
  "top",
  "left",
] as const satisfies readonly (keyof PoolGradJob)[];
const MR = 4, NR = 8; // the tile of fma_gemm.c
const MAX_UNIT_ROW_TILES = 64;

/**
 * Control words shared with the workers (a SharedArrayBuffer, not the heap): the job sequence number, the
 * job block, the helpers done with it, and from `state` on one word per worker: 1 ready, 2 admitted (it
 * takes part in jobs), 3 turned away (it came too late: a worker must never join a job in flight).
 */
const CTRL = { seq: 0, job: 1, done: 2, state: 8 } as const;
const MAX_WORKERS = 8;

let bytes: { unshared?: Uint8Array; shared?: Uint8Array } | undefined;
let unsupported: string | undefined;

function moduleBytes(shared: boolean): Uint8Array | undefined {
  if (!bytes) {
    bytes = {};
    try {
      bytes.unshared = Deno.readFileSync(new URL("./c/fma_gemm.wasm", import.meta.url));
      bytes.shared = Deno.readFileSync(new URL("./c/fma_gemm_shared.wasm", import.meta.url));
      if (!WebAssembly.validate(bytes.unshared as BufferSource)) {
        unsupported = "this wasm engine does not validate relaxed SIMD";
      }
    } catch (e) {
      unsupported = `the relaxed-SIMD module could not be read: ${e instanceof Error ? e.message : e}`;
    }
  }
  if (unsupported) return undefined;
  return shared ? bytes.shared : bytes.unshared;
}

function disabledByEnv(): boolean {
  try {
    return Deno.env.get("FKD_FMA") === "0";
  } catch {
    return false;
  }
}

class Engine implements FmaEngine {
  private readonly run: (job: number) => void;
  private readonly poolGrad: (job: number) => void;
  private readonly adamUpdate: (...args: number[]) => void;
  private readonly relu: (dy: number, x: number, dx: number, n: number) => void;
  private readonly sum: (src: number, dst: number, acc: number, rows: number, c: number) => void;
  private readonly job: number;
  private readonly poolJob: number;
  private readonly ctrl?: Int32Array;
  private workers: wt.Worker[] = [];
  private module?: WebAssembly.Module;

  constructor(
    private readonly wasm: EmscriptenModule,
    readonly memory: WebAssembly.Memory,
    code: Uint8Array,
  ) {
    const module = new WebAssembly.Module(code as BufferSource);
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    this.run = instance.exports.gemm_run as (job: number) => void;
    this.poolGrad = instance.exports.max_pool_grad as (job: number) => void;
    this.adamUpdate = instance.exports.adam_update as (...args: number[]) => void;
    this.relu = instance.exports.relu_grad as (dy: number, x: number, dx: number, n: number) => void;
    this.sum = instance.exports.sum_rows as (
      src: number,
      dst: number,
      acc: number,
      rows: number,
      c: number,
    ) => void;
    this.job = wasm._malloc(JOB_FIELDS.length * 4);
    this.poolJob = wasm._malloc(POOL_FIELDS.length * 4);
    if (memory.buffer instanceof SharedArrayBuffer) {
      this.ctrl = new Int32Array(new SharedArrayBuffer(16 * 4));
      this.module = module;
    }
  }

  private helpers = 0;
  jobs = 0;

  get threads(): number {
    return 1 + this.helpers;
  }

  /** Starts `count` workers (shared memory only) and resolves once they are ready (or have failed). */
  async startWorkers(count: number): Promise<void> {
    const ctrl = this.ctrl;
    if (!ctrl || !this.module || this.workers.length || count < 1) return;
    const url = new URL("./fma_worker_io.ts", import.meta.url);
    const ready: Promise<void>[] = [];
    count = Math.min(count, MAX_WORKERS);
    for (let index = 0; index < count; index++) {
      const worker = new wt.Worker(url, {
        workerData: { module: this.module, memory: this.memory, ctrl: ctrl.buffer, index },
      });
      this.workers.push(worker);
      ready.push(
        new Promise<void>((resolve) => {
          worker.once("message", () => resolve());
          worker.once("error", () => resolve());
        }),
      );
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(ready), new Promise((r) => timer = setTimeout(r, 10_000))]);
    clearTimeout(timer);
    for (let i = 0; i < count; i++) {
      if (Atomics.compareExchange(ctrl, CTRL.state + i, 1, 2) === 1) this.helpers++;
      else Atomics.compareExchange(ctrl, CTRL.state + i, 0, 3);
    }
    for (const w of this.workers) w.unref(); // idle workers must not keep the process alive
  }

  maxPoolGrad(job: PoolGradJob): void {
    this.jobs++;
    const heap = new Int32Array(this.memory.buffer);
    POOL_FIELDS.forEach((name, i) => heap[(this.poolJob >>> 2) + i] = job[name] | 0);
    this.poolGrad(this.poolJob);
  }

  sumRows(src: number, dst: number, rows: number, c: number): void {
    this.jobs++;
    const acc = this.wasm._malloc(c * 8); // float64 sums; malloc aligns to 8
    try {
      this.sum(src, dst, acc, rows, c);
    } finally {
      this.wasm._free(acc);
    }
  }

  reluGrad(dy: number, x: number, dx: number, n: number): void {
    this.jobs++;
    this.relu(dy, x, dx, n);
  }

  adam(t: AdamJob): void {
    this.jobs++;
    const f = Math.fround;
    this.adamUpdate(
      t.w,
      t.g,
      t.m,
      t.v,
      t.w2,
      t.m2,
      t.v2,
      t.n,
      // The scalars tfjs's optimizer makes (float32 tensors of these float64 expressions).
      f(t.beta1),
      f(1 - t.beta1),
      f(t.beta2),
      f(1 - t.beta2),
      f(t.c1),
      f(t.c2),
      f(t.epsilon),
      f(-t.lr),
    );
  }

  gemm(job: GemmJob): void {
    const rows = job.rowOffsets.length, depth = job.depthOffsets.length;
    if (rows === 0 || job.cols === 0) return;
    this.jobs++;
    const tables = this.wasm._malloc((rows + depth) * 4);
    try {
      const heap = new Int32Array(this.memory.buffer); // after malloc: the heap may have grown
      heap.set(job.rowOffsets, tables >>> 2);
      heap.set(job.depthOffsets, (tables >>> 2) + rows);
      const threads = this.threads;
      const rowTiles = Math.ceil(rows / MR), colTiles = Math.ceil(job.cols / NR);
      // Units: at most MAX_UNIT_ROW_TILES row tiles (a unit's rows of C and of the gathered operand stay in
      // L2 while it runs through the depth), and ~4 per thread for balance on a busy machine.
      const want = threads > 1 ? 4 * threads : 1;
      const splitRows = rowTiles >= colTiles;
      const unitRows = Math.min(MAX_UNIT_ROW_TILES, splitRows ? Math.ceil(rowTiles / want) : rowTiles);
      const unitCols = splitRows ? colTiles : Math.ceil(colTiles / want);
      const values: Record<(typeof JOB_FIELDS)[number], number> = {
        base: job.base,
        rows,
        cols: job.cols,
        depth,
        rOff: tables,
        qOff: tables + rows * 4,
        b: job.b,
        ldb: job.ldb,
        c: job.c,
        ldc: job.ldc,
        accumulate: job.accumulate ? 1 : 0,
        unitRows,
        unitCols,
        counter: 0,
        bias: 0, // the C epilogue (a bias, ReLU) is not used: forward convolutions stay on XNNPACK
        relu: 0,
      };
      JOB_FIELDS.forEach((name, i) => heap[(this.job >>> 2) + i] = values[name] | 0);
      if (threads === 1 || !this.ctrl) {
        this.run(this.job);
        return;
      }
      const ctrl = this.ctrl;
      const helpers = threads - 1;
      Atomics.store(ctrl, CTRL.job, this.job | 0);
      Atomics.store(ctrl, CTRL.done, 0);
      Atomics.add(ctrl, CTRL.seq, 1);
      Atomics.notify(ctrl, CTRL.seq);
      this.run(this.job);
      // Wait for every helper to leave the job (they find the counter exhausted if they start late).
      for (let d = Atomics.load(ctrl, CTRL.done); d < helpers; d = Atomics.load(ctrl, CTRL.done)) {
        Atomics.wait(ctrl, CTRL.done, d, 100);
      }
    } finally {
      this.wasm._free(tables);
    }
  }
}

const engines = new WeakMap<object, Engine | null>();

function heapMemory(wasm: EmscriptenModule): WebAssembly.Memory | undefined {
  return wasm.wasmMemory ?? wasm.asm?.memory;
}

/**
 * The FMA engine of a wasm backend (created on first use, single-threaded until {@link startFmaThreads}),
 * or undefined where relaxed SIMD is unsupported or `FKD_FMA=0`.
 */
export function fmaEngine(backend: BackendWasm): FmaEngine | undefined {
  const wasm = (backend as unknown as { wasm: EmscriptenModule }).wasm;
  let engine = engines.get(wasm);
  if (engine === undefined) {
    const memory = heapMemory(wasm);
    const code = memory && !disabledByEnv()
      ? moduleBytes(memory.buffer instanceof SharedArrayBuffer)
      : undefined;
    engine = memory && code ? new Engine(wasm, memory, code) : null;
    engines.set(wasm, engine);
  }
  return engine ?? undefined;
}

/**
 * Why {@link fmaEngine} gives no engine for this backend, or undefined when it gives one.
 */
export function fmaUnavailable(backend: BackendWasm): string | undefined {
  if (fmaEngine(backend)) return undefined;
  if (disabledByEnv()) return "FKD_FMA=0";
  return unsupported ?? "the wasm backend's memory was not found";
}

/**
 * Starts `threads − 1` worker threads for the engine of a backend on the pthreads binary (shared heap);
 * a no-op for the single-threaded binary or when relaxed SIMD is unavailable. Resolves when they are ready.
 */
export async function startFmaThreads(backend: BackendWasm, threads: number): Promise<number> {
  const engine = fmaEngine(backend) as Engine | undefined;
  if (!engine) return 0;
  await engine.startWorkers(threads - 1);
  return engine.threads;
}

/** Lets the kernels (`fma_kernels.ts`) use {@link fmaEngine}. Idempotent. */
export function installFmaEngine(): void {
  fmaRouting.engine = fmaEngine;
}
