/**
 * Picks and starts the tfjs backend: webgpu where a real (hardware) adapter exists, else wasm, else cpu;
 * or the one the user names (option, or the `FKD_BACKEND` environment variable). Registers this project's
 * wasm kernels first (`lib/kernels/`), so that training runs on wasm at all (tfjs-backend-wasm 4.22.0
 * lacks `Conv2DBackpropFilter`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { UsageError } from "./core/errors.ts";
import { registerWasmKernels } from "./kernels/mod.ts";
import { enableWasmThreads, finishWasmThreads } from "./kernels/wasm_threads_io.ts";

/** The backends this library can run on, best first. */
export const BACKEND_NAMES = ["webgpu", "wasm", "cpu"] as const;

/** One of {@link BACKEND_NAMES}. */
export type BackendName = typeof BACKEND_NAMES[number];

/** Which backend runs, and why the others were passed over. */
export interface BackendReport {
  /** The backend now active in tfjs. */
  backend: BackendName;
  /**
   * Why a backend was not used (absent for those never tried); for the one that runs, a note when it runs
   * degraded (e.g. wasm single-threaded, and why).
   */
  reasons: { webgpu?: string; wasm?: string; cpu?: string };
  /** Threads the backend computes with (wasm: its thread pool; cpu and webgpu: 1). */
  threads: number;
  /** Whether the wasm SIMD binary runs (false for other backends). */
  simd: boolean;
  /** Kernels this project registered for wasm. */
  kernels: string[];
  /** Where the choice came from. */
  source: "option" | "env FKD_BACKEND" | "default order";
}

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /** Start this backend or fail (overrides `FKD_BACKEND`). */
  backend?: BackendName;
  /** Accept a software WebGPU adapter (llvmpipe, SwiftShader) in the default order; default false. */
  allowSoftwareGpu?: boolean;
  /**
   * Threads for wasm (env `FKD_WASM_THREADS`); default: all logical cores. 1 = the single-threaded
   * binary. Fixed once wasm has started in this process.
   */
  threads?: number;
}

let current: { key: string; report: Promise<BackendReport>; name: string | undefined } | undefined;

/**
 * Starts the best available backend (or the named one) and reports it. Idempotent: calling it again with
 * the same choice returns the same report; a different explicit choice switches backend.
 *
 * @throws UsageError for an unknown backend name; Error when the named backend cannot start (with why).
 * @example
 * ```ts
 * const report = await initBackend();            // webgpu → wasm → cpu
 * console.log(report.backend, report.reasons);
 * await initBackend({ backend: "cpu" });         // or FKD_BACKEND=cpu
 * ```
 */
export function initBackend(opts: InitBackendOptions = {}): Promise<BackendReport> {
  const fromEnv = envBackend();
  const named = opts.backend ?? fromEnv;
  const source = opts.backend !== undefined
    ? "option"
    : fromEnv !== undefined
    ? "env FKD_BACKEND"
    : "default order";
  if (named !== undefined && !isBackendName(named)) {
    const where = source === "option" ? "option backend" : "FKD_BACKEND";
    return Promise.reject(
      new UsageError(
        `unknown backend "${named}" (from ${where}); expected one of ${BACKEND_NAMES.join(", ")}`,
      ),
    );
  }
  const threads = opts.threads ?? envThreads() ?? navigator.hardwareConcurrency ?? 1;
  if (!Number.isInteger(threads) || threads < 1) {
    return Promise.reject(new UsageError(`threads must be a positive integer, got ${threads}`));
  }
  const key = `${named ?? "auto"}:${source}:${opts.allowSoftwareGpu ?? false}:${threads}`;
  if (current?.key === key && tf.getBackend() === current.name) return current.report;
  const report = start(named, source, opts.allowSoftwareGpu ?? false, threads);
  const entry = { key, report, name: undefined as string | undefined };
  current = entry;
  report.then((r) => entry.name = r.backend, () => {
    if (current === entry) current = undefined;
  });
  return report;
}

function envThreads(): number | undefined {
  try {
    const value = Deno.env.get("FKD_WASM_THREADS");
    return value ? Number(value) : undefined;
  } catch {
    return undefined;
  }
}

function envBackend(): string | undefined {
  try {
    const value = Deno.env.get("FKD_BACKEND");
    return value ? value.trim().toLowerCase() : undefined;
  } catch {
    return undefined; // no --allow-env: use the default order
  }
}

function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

async function start(
  named: BackendName | undefined,
  source: BackendReport["source"],
  allowSoftwareGpu: boolean,
  threads: number,
): Promise<BackendReport> {
  const kernels = registerWasmKernels();
  const reasons: BackendReport["reasons"] = {};
  const order: BackendName[] = named ? [named] : [...BACKEND_NAMES];
  for (const name of order) {
    const why = await tryStart(name, named === "webgpu" || allowSoftwareGpu, threads, reasons);
    if (why === undefined) {
      const wasm = name === "wasm";
      return {
        backend: name,
        reasons,
        threads: wasm ? getThreadsCount() : 1,
        simd: wasm ? Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) : false,
        kernels,
        source,
      };
    }
    reasons[name] = why;
  }
  if (named) {
    throw new Error(`backend "${named}" was requested (${source}) but cannot start: ${reasons[named]}`);
  }
  throw new Error(`no tfjs backend could start: ${JSON.stringify(reasons)}`);
}

/** Starts `name`; returns undefined on success, else why it cannot run. */
async function tryStart(
  name: BackendName,
  allowSoftwareGpu: boolean,
  threads: number,
  reasons: BackendReport["reasons"],
): Promise<string | undefined> {
  if (name === "webgpu") {
    const why = await webgpuUnavailable(allowSoftwareGpu);
    if (why) return why;
    await import("@tensorflow/tfjs-backend-webgpu");
  }
  if (name === "wasm") {
    await import("@tensorflow/tfjs-backend-wasm");
    if (threads > 1 && !enableWasmThreads(threads)) {
      reasons.wasm = `wasm had started before initBackend (or with another thread count): threads unchanged`;
    } else if (threads > 1) {
      const why = await setAndCheck(name);
      finishWasmThreads();
      if (why === undefined) return undefined;
      // The threaded binary failed: say so, and start the single-threaded one.
      reasons.wasm = `threaded wasm failed (${why}); running single-threaded`;
      tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    }
  }
  return await setAndCheck(name);
}

async function setAndCheck(name: BackendName): Promise<string | undefined> {
  try {
    // setBackend resolves false (and logs) when initialisation fails; tfjs never silently swaps here.
    const ok = await tf.setBackend(name);
    if (!ok || tf.getBackend() !== name) return `tf.setBackend("${name}") failed to initialise it`;
    await tf.ready();
    return undefined;
  } catch (e) {
    return `initialisation threw: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** Why WebGPU should not be used here, or undefined when a real adapter exists. */
async function webgpuUnavailable(allowSoftware: boolean): Promise<string | undefined> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return "navigator.gpu is not available in this runtime";
  // The Vulkan loader prints "XDG_RUNTIME_DIR is invalid or not set" on every probe without it.
  if (!Deno.env.get("XDG_RUNTIME_DIR")) Deno.env.set("XDG_RUNTIME_DIR", Deno.env.get("TMPDIR") ?? "/tmp");
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return `navigator.gpu.requestAdapter() threw: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (!adapter) return "navigator.gpu.requestAdapter() returned null (no GPU adapter)";
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  const software = info.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader|software/i.test(text);
  if (software && !allowSoftware) {
    return `only a software adapter (${info.description || text.trim()}), slower than wasm; ` +
      `name webgpu explicitly to use it`;
  }
  return undefined;
}
