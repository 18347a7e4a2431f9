/**
 * Runs tfjs-backend-wasm's multi-threaded (pthreads) binary under Deno.
 *
 * tfjs sees Node (Deno exposes `process.versions.node`) and turns threads off; forced on, emscripten's
 * Node path starts `worker_threads` workers from a `blob:` URL, which Deno refuses (`ERR_WORKER_PATH`).
 * We (1) write the pthread worker script and the module factory to a temporary folder and start the
 * workers from those absolute paths, with the small fixes Deno needs (its worker global has a read-only
 * `location`; the factory, cut out of a rollup bundle, needs the bundle's `require$$N` names), and
 * (2) make the size of XNNPACK's thread pool what the caller asks: the 4.22 binary sizes it from
 * `os.cpus().length / 2` (it assumes two hyper-threads per core), which is 1 on a 2-core machine.
 *
 * Must run before the wasm backend is first initialised (`tf.setBackend("wasm")`); the backend binds
 * its binary once per process.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import wt from "node:worker_threads";
import os from "node:os";

let installed: { dir: string; threads: number } | undefined;

/** Prefix that gives the factory, outside its bundle, the names it refers to. */
const FACTORY_PRELUDE = "var require$$0 = require('fs'), require$$1 = require('path'), " +
  "require$$3 = require('perf_hooks'), require$$4 = require('os'), commonjsGlobal = globalThis;\n";

/** Prefix for the worker: `Object.assign(global, {location, …})` throws on Deno's read-only getters. */
const WORKER_PRELUDE = "function __fkdAssign(t,s){for(const k of Object.keys(s)){try{" +
  "Object.defineProperty(t,k,{value:s[k],writable:true,configurable:true})}catch(_){}}}\n";

function workerScript(): string {
  const dist = new URL(import.meta.resolve("@tensorflow/tfjs-backend-wasm"));
  const source = Deno.readTextFileSync(dist);
  const match = source.match(/var wasmWorkerContents = ("(?:[^"\\]|\\.)*");/);
  if (!match) throw new Error(`wasm threads: the pthread worker script was not found in ${dist.pathname}`);
  const text = JSON.parse(match[1]) as string;
  // tfjs escapes newlines the same way before making its Blob (they sit inside string literals).
  return WORKER_PRELUDE + text.replace(/\n/g, "\\n").replace("Object.assign(global,", "__fkdAssign(global,");
}

/**
 * Prepares the threaded wasm binary with `threads` threads (≥ 2). Returns false (and changes nothing)
 * when the wasm backend has already started. Idempotent for the same count.
 */
export function enableWasmThreads(threads: number): boolean {
  if (!Number.isInteger(threads) || threads < 2) throw new Error(`wasm threads: need ≥ 2, got ${threads}`);
  if (installed) return installed.threads === threads;
  if (tf.engine().registry["wasm"]) return false; // the binary is bound already
  const dir = Deno.makeTempDirSync({ prefix: "fkd-wasm-threads-" });
  // The workers read both scripts while the backend starts; the folder can go when the process ends.
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // already gone
    }
  });
  const workerPath = `${dir}/pthread_worker.cjs`;
  Deno.writeTextFileSync(workerPath, workerScript());
  let factoryPath: Promise<string> | undefined;
  const Base = wt.Worker;
  class FileWorker extends Base {
    constructor(url: string | URL, opts?: wt.WorkerOptions) {
      super(String(url).startsWith("blob:") ? workerPath : url, opts);
      workers.push(this);
      if (started) this.unref();
    }
    override ref(): void {
      // emscripten refs a worker while it runs a pthread; XNNPACK's pool threads run for the life of
      // the module, so once started they must not keep the process alive.
      if (!started) super.ref();
    }
    override postMessage(message: unknown, transfer?: readonly wt.Transferable[]): void {
      const msg = message as { cmd?: string; urlOrBlob?: unknown };
      if (msg?.cmd === "load" && msg.urlOrBlob instanceof Blob) {
        // The first message to a worker; it answers before anything else is sent, so a delay is safe.
        factoryPath ??= msg.urlOrBlob.text().then((text) => {
          const path = `${dir}/factory.cjs`;
          Deno.writeTextFileSync(path, FACTORY_PRELUDE + text);
          return path;
        });
        factoryPath.then((path) => super.postMessage({ ...msg, urlOrBlob: path }, transfer));
        return;
      }
      super.postMessage(message, transfer);
    }
  }
  (wt as unknown as { Worker: typeof Base }).Worker = FileWorker;
  // The binary sizes its pool from os.cpus().length / 2, read once when the module starts.
  realCpus = os.cpus;
  const cpus = realCpus;
  (os as unknown as { cpus: () => os.CpuInfo[] }).cpus = () => {
    const real = cpus.call(os);
    return Array.from({ length: 2 * threads }, (_, i) => real[i % Math.max(1, real.length)]);
  };
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  installed = { dir, threads };
  return true;
}

/** The thread count prepared by {@link enableWasmThreads}, or 0. */
export function wasmThreadsEnabled(): number {
  return installed?.threads ?? 0;
}

/**
 * Call once `tf.setBackend("wasm")` has settled: undoes the `os.cpus` override and lets the process exit
 * while the pool's workers idle (they stay referenced while loading, so that the event loop waits for
 * them).
 */
export function finishWasmThreads(): void {
  if (realCpus) (os as unknown as { cpus: () => os.CpuInfo[] }).cpus = realCpus;
  realCpus = undefined;
  started = true;
  for (const w of workers) w.unref();
}

const workers: wt.Worker[] = [];
let started = false;

let realCpus: (() => os.CpuInfo[]) | undefined;
