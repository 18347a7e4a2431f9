/**
 * Matrix products and convolutions of training on the relaxed-SIMD engine (`fma_io.ts`), and the max-pool
 * gradient on its SIMD module, as drop-in paths of the wasm kernels: each returns undefined where it does
 * not apply (no relaxed SIMD, `FKD_FMA=0`, too
 * small to gain, a layout it does not cover), and the caller runs XNNPACK instead.
 *
 * Which shapes go here was measured (`deno task bench train --fma-ab`): products of at least
 * {@link fmaRouting}`.minFlops`.
 *
 * @module
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { free, type Info, pad, transpose } from "./wasm_util.ts";

/** One product `C (+)= gather(base)·B`; pointers are byte offsets into the wasm heap. */
export interface GemmJob {
  /** Byte offset of the gathered float32 operand. */
  base: number;
  /** Element offset of each output row into `base` (R entries). */
  rowOffsets: Int32Array;
  /** Element offset of each depth step into `base` (Q entries). */
  depthOffsets: Int32Array;
  /** Byte offset of B: Q rows of `ldb` floats, the first `cols` used. */
  b: number;
  ldb: number;
  /** Byte offset of C: R rows of `ldc` floats, the first `cols` written. */
  c: number;
  ldc: number;
  /** N, the columns of B and C. */
  cols: number;
  /** Add to C instead of overwriting it. */
  accumulate?: boolean;
}

/**
 * The gradient of a max-pool whose windows do not overlap (`c/heap_simd.c`): pointers are byte offsets,
 * the rest the pool's geometry (NHWC).
 */
export interface PoolGradJob {
  x: number;
  dy: number;
  dx: number;
  nb: number;
  h: number;
  w: number;
  c: number;
  oh: number;
  ow: number;
  fh: number;
  fw: number;
  sh: number;
  sw: number;
  top: number;
  left: number;
}

/** The tensors (byte offsets, `n` floats each) and float32 scalars of one Adam step. */
export interface AdamJob {
  w: number;
  g: number;
  m: number;
  v: number;
  /** Where w′, m′ and v′ go. */
  w2: number;
  m2: number;
  v2: number;
  n: number;
  beta1: number;
  beta2: number;
  /** 1 − β₁ᵗ and 1 − β₂ᵗ (the bias corrections). */
  c1: number;
  c2: number;
  epsilon: number;
  lr: number;
}

/** Runs {@link GemmJob}s on one backend's heap (`fma_io.ts` makes them). */
export interface FmaEngine {
  /** Threads a job runs on (1 + ready workers). */
  readonly threads: number;
  /** Runs a job to completion (synchronously). */
  gemm(job: GemmJob): void;
  /** Runs a max-pool gradient on the calling thread (memory-bound: one thread keeps up). */
  maxPoolGrad(job: PoolGradJob): void;
  /** `dst[ch] = Σ_r src[r·c + ch]` (float32 in and out, float64 sums) at byte offsets `src`, `dst`. */
  sumRows(src: number, dst: number, rows: number, c: number): void;
  /** One Adam step of one variable (`c/heap_simd.c`); tensors by byte offset, scalars as float32. */
  adam(t: AdamJob): void;
  /** `dx = dy · step(x)` over `n` floats (byte offsets). */
  reluGrad(dy: number, x: number, dx: number, n: number): void;
  /** Jobs run so far (tests check that a path was taken). */
  readonly jobs: number;
}

/** Where the FMA paths are taken; tests lower `minFlops` to run them on small shapes. */
export const fmaRouting: {
  minFlops: number;
  enabled: boolean;
  engine?: (backend: BackendWasm) => FmaEngine | undefined;
} = {
  /** Multiply-adds below which XNNPACK is kept (its setup is cheaper for small products). */
  minFlops: 2_000_000,
  /** Take the FMA paths at all (the bench turns them off for an A/B comparison). */
  enabled: true,
  /** The engine of a backend; set by `installFmaEngine()` (`fma_io.ts`), absent: XNNPACK only. */
  engine: undefined,
};

function engineFor(backend: BackendWasm, flops: number): FmaEngine | undefined {
  // An empty product (no depth) is left to XNNPACK: the engine would leave C unwritten.
  if (!fmaRouting.enabled || flops === 0 || flops < fmaRouting.minFlops) return undefined;
  return fmaRouting.engine?.(backend);
}

/** Byte offset of a tensor's data on the wasm heap. */
function ptr(backend: BackendWasm, info: Info): number {
  return (backend as unknown as { getMemoryOffset(id: object): number }).getMemoryOffset(info.dataId);
}

function range(n: number, step: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i * step;
  return a;
}

/**
 * `op(A)·op(B)` for single matrices `a2` (`[m,k]`, or `[k,m]` when `tA`) and `b2` (`[k,n]`, or `[n,k]`
 * when `tB`), as `[m, n]`; undefined when the FMA path does not apply.
 */
export function fmaMatMul(
  backend: BackendWasm,
  a2: Info,
  b2: Info,
  t: { tA: boolean; tB: boolean; m: number; k: number; n: number },
): Info | undefined {
  const { tA, tB, m, k, n } = t;
  const engine = engineFor(backend, m * n * k);
  if (!engine) return undefined;
  // The gathered operand may be read transposed for free; the right operand must have contiguous rows.
  const gatherA = (out: Info, bInfo: Info, ldb: number) =>
    engine.gemm({
      base: ptr(backend, a2),
      rowOffsets: tA ? range(m, 1) : range(m, k),
      depthOffsets: tA ? range(k, m) : range(k, 1),
      b: ptr(backend, bInfo),
      ldb,
      c: ptr(backend, out),
      ldc: n,
      cols: n,
    });
  if (!tB) {
    const out = backend.makeOutput([m, n], "float32");
    gatherA(out, b2, n);
    return out;
  }
  // op(B) = b2ᵀ: transpose b2 (k·n) where that costs less than the alternative, Cᵀ = b2·op(A)ᵀ and a
  // transpose of it (k·m + m·n when op(A)ᵀ needs a transpose, m·n when it is a2 as stored).
  const viaCt = (tA ? 0 : k * m) + m * n;
  if (k * n <= viaCt) {
    const b = transpose(backend, b2, [1, 0]);
    const out = backend.makeOutput([m, n], "float32");
    gatherA(out, b, n);
    free(backend, b);
    return out;
  }
  // Cᵀ = b2·op(A)ᵀ gathers rows of b2 with unit depth stride, where XNNPACK's GEMM (loading four depth
  // steps at once) measured faster: LeNet's dense input gradient, 0.7× on the FMA path.
  return undefined;
}

/** Explicit padding of an NHWC tensor by the positive parts of `pads` (negative parts are never read). */
function padPositive(
  backend: BackendWasm,
  x: Info,
  pads: { top: number; bottom: number; left: number; right: number },
): Info {
  const p = (v: number) => Math.max(0, v);
  if (p(pads.top) + p(pads.bottom) + p(pads.left) + p(pads.right) === 0) return x;
  return pad(backend, x, [[0, 0], [p(pads.top), p(pads.bottom)], [p(pads.left), p(pads.right)], [0, 0]]);
}

/** Geometry shared by the filter gradient and the forward convolution (NHWC, explicit pads). */
interface ConvGeometry {
  fh: number;
  fw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  pads: { top: number; bottom: number; left: number; right: number };
  oh: number;
  ow: number;
}

/** Element offsets of output pixels (b, oy, ox) into the padded input, and of taps (i, j, c). */
function convOffsets(
  xp: number[],
  g: ConvGeometry,
): { pixels: Int32Array; taps: Int32Array } {
  const [nb, hp, wp, c] = xp;
  // A negative pad crops: output row 0 starts that many rows into the (unpadded) input.
  const y0 = Math.max(0, -g.pads.top), x0 = Math.max(0, -g.pads.left);
  const pixels = new Int32Array(nb * g.oh * g.ow);
  let p = 0;
  for (let b = 0; b < nb; b++) {
    for (let y = 0; y < g.oh; y++) {
      for (let x = 0; x < g.ow; x++) pixels[p++] = ((b * hp + y0 + y * g.sh) * wp + x0 + x * g.sw) * c;
    }
  }
  const taps = new Int32Array(g.fh * g.fw * c);
  let t = 0;
  for (let i = 0; i < g.fh; i++) {
    for (let j = 0; j < g.fw; j++) {
      for (let ch = 0; ch < c; ch++) taps[t++] = (i * g.dh * wp + j * g.dw) * c + ch;
    }
  }
  return { pixels, taps };
}

/**
 * The filter gradient `dW[i,j,c,o] = Σ_{b,y,x} X[b, y·sh+i−pt, x·sw+j−pl, c]·dY[b,y,x,o]` as one product:
 * rows are the taps × input channels (dW's own layout), depth the output pixels. Undefined when the FMA
 * path does not apply.
 */
export function fmaConvFilterGrad(
  backend: BackendWasm,
  x: Info,
  dy: Info,
  g: ConvGeometry,
): Info | undefined {
  return convProduct(backend, x, dy, [g.fh, g.fw, x.shape[3], dy.shape[3]], g, "taps");
}

/**
 * A forward NHWC convolution (filter `[fh,fw,C,O]`) as one product: rows are the output pixels, depth
 * the taps × input channels. Pads may be negative (crops). Undefined when the FMA path does not apply.
 * Used for the gradients (`conv2d_backprop.ts`); the model's own forward convolutions stay on XNNPACK, which
 * measured faster at inference (README, "The rest of the step").
 */
export function fmaConv(backend: BackendWasm, x: Info, filter: Info, g: ConvGeometry): Info | undefined {
  return convProduct(backend, x, filter, [x.shape[0], g.oh, g.ow, filter.shape[3]], g, "pixels");
}

/**
 * `out = gather(X)·right` over the padded input, with `rows` the taps (filter gradient; depth = pixels,
 * right = dY) or the pixels (forward; depth = taps, right = the filter). Both right operands are
 * `[depth, O]` with contiguous rows.
 */
function convProduct(
  backend: BackendWasm,
  x: Info,
  right: Info,
  outShape: number[],
  g: ConvGeometry,
  rows: "taps" | "pixels",
): Info | undefined {
  const [nb, , , c] = x.shape;
  const o = right.shape[3];
  const engine = engineFor(backend, nb * g.oh * g.ow * g.fh * g.fw * c * o);
  if (!engine) return undefined;
  const xp = padPositive(backend, x, g.pads);
  const { pixels, taps } = convOffsets(xp.shape, g);
  const out = backend.makeOutput(outShape, "float32");
  engine.gemm({
    base: ptr(backend, xp),
    rowOffsets: rows === "taps" ? taps : pixels,
    depthOffsets: rows === "taps" ? pixels : taps,
    b: ptr(backend, right),
    ldb: o,
    c: ptr(backend, out),
    ldc: o,
    cols: o,
  });
  if (xp !== x) free(backend, xp);
  return out;
}

export type { ConvGeometry };

/**
 * The gradient of a max-pool with non-overlapping windows (`fh ≤ sh`, `fw ≤ sw`) into `dx` (`x`'s shape),
 * which must hold zeros wherever no window reaches. False (nothing written) where the SIMD path does not
 * apply: overlapping windows, FMA paths off, no engine.
 */
export function simdMaxPoolGrad(
  backend: BackendWasm,
  t: { x: Info; dy: Info; dx: Info },
  g: Omit<PoolGradJob, "x" | "dy" | "dx" | "nb" | "h" | "w" | "c">,
): boolean {
  if (g.fh > g.sh || g.fw > g.sw || !fmaRouting.enabled) return false;
  const engine = fmaRouting.engine?.(backend);
  if (!engine) return false;
  const [nb, h, w, c] = t.x.shape;
  engine.maxPoolGrad({
    ...g,
    x: ptr(backend, t.x),
    dy: ptr(backend, t.dy),
    dx: ptr(backend, t.dx),
    nb,
    h,
    w,
    c,
  });
  return true;
}

/**
 * The sum of a float32 tensor over every axis but the last into `out` (`[c]` floats). False (nothing
 * written) where the SIMD path does not apply (FMA paths off, no engine).
 */
export function simdSumRows(backend: BackendWasm, x: Info, out: Info, rows: number, c: number): boolean {
  const engine = fmaRouting.enabled ? fmaRouting.engine?.(backend) : undefined;
  if (!engine) return false;
  engine.sumRows(ptr(backend, x), ptr(backend, out), rows, c);
  return true;
}

/** Whether the SIMD module's kernels run on this backend now (FMA paths on, engine loaded). */
export function simdAvailable(backend: BackendWasm): boolean {
  return fmaRouting.enabled && fmaRouting.engine?.(backend) !== undefined;
}

/**
 * ReLU's gradient `dy · step(x)` into a new tensor, or undefined where the SIMD path does not apply (FMA paths
 * off, no engine, not float32 of one shape).
 */
export function simdReluGrad(backend: BackendWasm, dy: Info, x: Info): Info | undefined {
  if (dy.dtype !== "float32" || x.dtype !== "float32" || dy.shape.join() !== x.shape.join()) return undefined;
  const engine = fmaRouting.enabled ? fmaRouting.engine?.(backend) : undefined;
  if (!engine) return undefined;
  const out = backend.makeOutput(x.shape, "float32");
  engine.reluGrad(ptr(backend, dy), ptr(backend, x), ptr(backend, out), out.shape.reduce((p, d) => p * d, 1));
  return out;
}
