/**
 * `BatchMatMul` for the `wasm` backend, for the single-matrix case that dense layers use, run as a 1×1
 * XNNPACK convolution. The stock kernel is slow in training: with a transposed operand it falls back to a
 * scalar loop, and without one XNNPACK re-packs the right-hand matrix (the freshly updated weights) on
 * every call. A 1×1 convolution only packs its filter, so we pick, of `C = A·B` and `Cᵀ = Bᵀ·Aᵀ`, the
 * form whose filter is the small operand, and transpose where a form needs it.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { conv, free, type Info, original, reshape, transpose } from "./wasm_util.ts";
import { fmaMatMul } from "./fma_kernels.ts";

/** Packing a filter costs about this many transposes of the same size (measured, LeNet's dense layer). */
const PACK_COST = 5;

/** Right-hand matrices seen before: constant weights, whose packed form XNNPACK keeps (inference). */
const seen = new WeakSet<object>();

function batchMatMul(
  args: {
    inputs: { a: Info; b: Info };
    backend: BackendWasm;
    attrs: { transposeA: boolean; transposeB: boolean };
  },
): Info {
  const { inputs: { a, b }, backend, attrs: { transposeA: tA, transposeB: tB } } = args;
  const ra = a.shape.length, rb = b.shape.length;
  const batchA = a.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const batchB = b.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  if (a.dtype !== "float32" || b.dtype !== "float32" || batchA !== 1 || batchB !== 1) {
    return original("BatchMatMul").kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]) as Info;
  }
  const m = tA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = tA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = tB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = tB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) {
    throw new Error(`BatchMatMul: inner sizes differ (${k} vs ${kb}) for shapes ${a.shape} and ${b.shape}`);
  }
  const outShape = [...(ra >= rb ? a.shape : b.shape).slice(0, -2), m, n];
  const a2 = reshape(backend, a, tA ? [k, m] : [m, k]);
  const b2 = reshape(backend, b, tB ? [n, k] : [k, n]);
  const fast = fmaMatMul(backend, a2, b2, { tA, tB, m, k, n });
  if (fast) {
    const out = reshape(backend, fast, outShape);
    free(backend, a2, b2, fast);
    return out;
  }
  // Cost of C = op(A)·op(B) (filter op(B) packed, unless B is a constant seen before) against
  // Cᵀ = op(B)ᵀ·op(A)ᵀ (filter op(A)ᵀ packed, result transposed).
  const bConstant = !tB && seen.has(b.dataId);
  seen.add(b.dataId);
  const direct = (tA ? m * k : 0) + (tB ? k * n : 0) + (bConstant ? 0 : PACK_COST * k * n);
  const swapped = (tB ? 0 : k * n) + (tA ? 0 : k * m) + PACK_COST * k * m + m * n;
  const temps: Info[] = [a2, b2];
  let out: Info;
  if (direct <= swapped) {
    const input = tA ? transpose(backend, a2, [1, 0]) : a2;
    const filter = tB ? transpose(backend, b2, [1, 0]) : b2;
    if (input !== a2) temps.push(input);
    if (filter !== b2) temps.push(filter);
    const x4 = reshape(backend, input, [1, 1, m, k]);
    const f4 = reshape(backend, filter, [1, 1, k, n]);
    const y = conv(backend, x4, f4, { top: 0, bottom: 0, left: 0, right: 0 });
    temps.push(x4, f4, y);
    out = reshape(backend, y, outShape);
  } else {
    const input = tB ? b2 : transpose(backend, b2, [1, 0]); // op(B)ᵀ: [n, k]
    const filter = tA ? a2 : transpose(backend, a2, [1, 0]); // op(A)ᵀ: [k, m]
    if (input !== b2) temps.push(input);
    if (filter !== a2) temps.push(filter);
    const x4 = reshape(backend, input, [1, 1, n, k]);
    const f4 = reshape(backend, filter, [1, 1, k, m]);
    const yT = conv(backend, x4, f4, { top: 0, bottom: 0, left: 0, right: 0 });
    const yT2 = reshape(backend, yT, [n, m]);
    const y = transpose(backend, yT2, [1, 0]);
    temps.push(x4, f4, yT, yT2, y);
    out = reshape(backend, y, outShape);
  }
  free(backend, ...temps);
  return out;
}

/** `BatchMatMul` for wasm: single matrices on XNNPACK 1×1 convolutions, batches on the stock kernel. */
export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: "BatchMatMul",
  backendName: "wasm",
  kernelFunc: batchMatMul as unknown as tf.KernelFunc,
};
