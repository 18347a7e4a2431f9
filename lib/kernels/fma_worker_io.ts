/**
 * A helper thread of the relaxed-SIMD engine (`fma_io.ts`): its own instance of the module on the backend's
 * shared heap. Once admitted, it waits on the control words for a new job, runs its share (units from the
 * job's atomic counter), and counts itself done.
 *
 * @module
 */
import { parentPort, workerData } from "node:worker_threads";

const { module, memory, ctrl: ctrlBuffer, index } = workerData as {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctrl: SharedArrayBuffer;
  index: number;
};
/** The layout of `CTRL` in fma_io.ts. */
const SEQ = 0, JOB = 1, DONE = 2, STATE = 8 + index;
const ctrl = new Int32Array(ctrlBuffer);
const instance = new WebAssembly.Instance(module, { env: { memory } });
const run = instance.exports.gemm_run as (job: number) => void;

let seen = Atomics.load(ctrl, SEQ);
if (Atomics.compareExchange(ctrl, STATE, 0, 1) === 0) {
  parentPort?.postMessage("ready");
  // Until admitted or turned away; no job is sent before admission, so `seen` stays current.
  while (Atomics.load(ctrl, STATE) === 1) Atomics.wait(ctrl, SEQ, seen, 50);
  if (Atomics.load(ctrl, STATE) === 2) {
    for (;;) {
      Atomics.wait(ctrl, SEQ, seen);
      seen = Atomics.load(ctrl, SEQ);
      run(Atomics.load(ctrl, JOB));
      Atomics.add(ctrl, DONE, 1);
      Atomics.notify(ctrl, DONE);
    }
  }
}
parentPort?.close();
