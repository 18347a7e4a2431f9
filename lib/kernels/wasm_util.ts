/**
 * Small helpers for writing wasm kernels out of the backend's own kernels (no ops, no tape): each call
 * runs a registered `wasm` kernel on `TensorInfo`s and returns a `TensorInfo` that the caller must free
 * with {@link free}.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/** A `TensorInfo` owned by a kernel while it composes other kernels. */
export type Info = tf.TensorInfo;

/** Runs the backend's kernel `name` (the one registered before ours, if we override it). */
export function call(
  backend: BackendWasm,
  name: string,
  inputs: Record<string, Info>,
  attrs: Record<string, unknown> = {},
): Info {
  const config = original(name);
  return config.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as Info;
}

/** Frees intermediate results (a reshape shares data with its input: the backend counts references). */
export function free(backend: BackendWasm, ...infos: Info[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** Kernels of the stock wasm backend that we replace, saved before we unregister them. */
const saved = new Map<string, tf.KernelConfig>();

/** The stock kernel `name` for wasm, saved the first time we look it up or replace it. */
export function original(name: string): tf.KernelConfig {
  const kept = saved.get(name);
  if (kept) return kept;
  const config = tf.getKernel(name, "wasm");
  if (!config) {
    throw new Error(`wasm kernel ${name} is not registered (is @tensorflow/tfjs-backend-wasm loaded?)`);
  }
  saved.set(name, config);
  return config;
}

/** Registers `config` for wasm, replacing (and saving) a stock kernel of the same name. Idempotent. */
export function replaceKernel(config: tf.KernelConfig): void {
  const current = tf.getKernel(config.kernelName, "wasm");
  if (current?.kernelFunc === config.kernelFunc) return; // already ours
  if (current) {
    if (!saved.has(config.kernelName)) saved.set(config.kernelName, current);
    tf.unregisterKernel(config.kernelName, "wasm");
  }
  // The stock kernel's setup (its wasm function bindings) must still run when the backend starts, as we
  // fall back to it for cases we do not handle.
  const stock = saved.get(config.kernelName);
  const setupFunc = config.setupFunc ?? stock?.setupFunc;
  tf.registerKernel(setupFunc ? { ...config, setupFunc } : config);
}

/** Transpose through the wasm kernel. */
export function transpose(backend: BackendWasm, x: Info, perm: number[]): Info {
  return call(backend, "Transpose", { x }, { perm });
}

/** Reshape (shares the data; free it like any other result). */
export function reshape(backend: BackendWasm, x: Info, shape: number[]): Info {
  return call(backend, "Reshape", { x }, { shape });
}

/** Zero padding; `paddings[i]` = [before, after] for axis i. */
export function pad(backend: BackendWasm, x: Info, paddings: [number, number][]): Info {
  return call(backend, "PadV2", { x }, { paddings, constantValue: 0 });
}

/** Slice `[begin, begin+size)`. */
export function slice(backend: BackendWasm, x: Info, begin: number[], size: number[]): Info {
  return call(backend, "Slice", { x }, { begin, size });
}

/** Forward NHWC convolution on XNNPACK with explicit padding `[[0,0],[t,b],[l,r],[0,0]]`. */
export function conv(
  backend: BackendWasm,
  x: Info,
  filter: Info,
  pads: { top: number; bottom: number; left: number; right: number },
  strides: [number, number] = [1, 1],
  dilations: [number, number] = [1, 1],
): Info {
  const pad = [[0, 0], [pads.top, pads.bottom], [pads.left, pads.right], [0, 0]];
  return call(backend, "Conv2D", { x, filter }, {
    strides,
    pad,
    dilations,
    dataFormat: "NHWC",
    dimRoundingMode: undefined,
  });
}
