/**
 * Memory-bound wasm kernels written in JavaScript over the wasm heap. The stock `MaxPoolGrad` and
 * `Sum` (over leading axes, as in a bias gradient) are single-threaded scalar loops that took 257 ms and
 * 62 ms of a 790 ms LeNet step; a channel-innermost loop in JIT-compiled JavaScript, reading the tensors
 * in place, is several times faster. Where the relaxed-SIMD module is loaded (`fma_io.ts`) and the FMA paths
 * are on, the common cases run its SIMD forms instead (`c/heap_simd.c`: non-overlapping pool windows, and
 * every leading-axes sum), ≈4× less CPU again.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { type Info, original } from "./wasm_util.ts";
import { fmaRouting, simdMaxPoolGrad, simdSumRows } from "./fma_kernels.ts";

function heap(backend: BackendWasm, info: Info): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/**
 * dx of a 2-D max-pool: each output's gradient goes to the first maximum of its window in row-major scan
 * order (the rule of the cpu backend, which matters for ties such as the zeros after a ReLU).
 */
function maxPoolGrad(args: {
  inputs: { dy: Info; input: Info; output: Info };
  backend: BackendWasm;
  attrs: {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: "valid" | "same" | number;
    dimRoundingMode?: "floor" | "round" | "ceil";
  };
}): Info {
  const { inputs: { dy, input }, backend, attrs } = args;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize: nb, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const out = backend.makeOutput(input.shape, "float32");
  // Views after the allocation (it may grow the heap).
  const x = heap(backend, input);
  const g = heap(backend, dy);
  const dx = heap(backend, out);
  // Windows that tile the input exactly write every element; else the rest must be zero.
  const tiles = fh === sh && fw === sw && top === 0 && left === 0 && oh * sh === h && ow * sw === w;
  if (!tiles) dx.fill(0);
  if (simdMaxPoolGrad(backend, { x: input, dy, dx: out }, { oh, ow, fh, fw, sh, sw, top, left })) return out;
  if (tiles) dx.fill(0); // the loop below adds into dx
  const best = new Float32Array(c);
  const at = new Int32Array(c);
  for (let b = 0; b < nb; b++) {
    const xb = b * h * w * c;
    for (let oy = 0; oy < oh; oy++) {
      const r0 = Math.max(0, oy * sh - top);
      const r1 = Math.min(h, oy * sh - top + fh);
      for (let ox = 0; ox < ow; ox++) {
        const c0 = Math.max(0, ox * sw - left);
        const c1 = Math.min(w, ox * sw - left + fw);
        best.fill(-Infinity);
        at.fill(-1);
        for (let r = r0; r < r1; r++) {
          for (let q = c0; q < c1; q++) {
            const base = xb + (r * w + q) * c;
            for (let ch = 0; ch < c; ch++) {
              const v = x[base + ch];
              if (v > best[ch]) {
                best[ch] = v;
                at[ch] = base + ch;
              }
            }
          }
        }
        const gBase = ((b * oh + oy) * ow + ox) * c;
        for (let ch = 0; ch < c; ch++) if (at[ch] >= 0) dx[at[ch]] += g[gBase + ch];
      }
    }
  }
  return out;
}

/** Sum over every axis but the last (a bias gradient); other reductions go to the stock kernel. */
function sum(args: {
  inputs: { x: Info };
  backend: BackendWasm;
  attrs: { axis: number | number[]; keepDims: boolean };
}): Info {
  const { inputs: { x }, backend, attrs } = args;
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
  const leading = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
  if (!leading || x.dtype !== "float32") {
    return original("Sum").kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
  }
  const c = x.shape[rank - 1];
  const rows = tf.util.sizeFromShape(x.shape) / c;
  const outShape = attrs.keepDims ? [...x.shape.slice(0, -1).map(() => 1), c] : [c];
  const out = backend.makeOutput(outShape, "float32");
  if (simdSumRows(backend, x, out, rows, c)) return out;
  const src = heap(backend, x);
  const dst = heap(backend, out);
  const acc = new Float64Array(c);
  for (let r = 0, i = 0; r < rows; r++) {
    for (let ch = 0; ch < c; ch++, i++) acc[ch] += src[i];
  }
  dst.set(acc);
  return out;
}

/**
 * `Identity` sharing its input's data (as the cpu backend does) instead of copying it: tfjs clones every
 * tensor it saves for the backward pass through this kernel, ≈3 % of a LeNet step on wasm. Tensors are never
 * written in place (kernels write fresh outputs, `Variable.assign` rebinds), so sharing is safe; the
 * backend counts references as for `Reshape`. With the FMA paths off (the bench's A/B) the stock copy runs.
 */
function identity(args: { inputs: { x: Info }; backend: BackendWasm }): Info {
  const { inputs: { x }, backend } = args;
  if (x.dtype === "string" || !fmaRouting.enabled) {
    return original("Identity").kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
  }
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** `Identity` for wasm without a copy. */
export const identityConfig: tf.KernelConfig = {
  kernelName: "Identity",
  backendName: "wasm",
  kernelFunc: identity as unknown as tf.KernelFunc,
};

/** `MaxPoolGrad` for wasm in JavaScript over the heap. */
export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: "MaxPoolGrad",
  backendName: "wasm",
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};

/** `Sum` for wasm: leading-axes reductions in JavaScript, the rest on the stock kernel. */
export const sumConfig: tf.KernelConfig = {
  kernelName: "Sum",
  backendName: "wasm",
  kernelFunc: sum as unknown as tf.KernelFunc,
};
