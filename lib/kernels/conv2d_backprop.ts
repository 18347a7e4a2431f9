/**
 * The two gradients of a 2-D convolution for the `wasm` backend, rewritten as forward convolutions so that
 * they run on XNNPACK's fast `Conv2D`:
 *
 * - `Conv2DBackpropFilter` (missing in tfjs-backend-wasm 4.22.0, upstream tfjs issue 8474): with the
 *   batch and channel axes swapped, the filter gradient is a convolution of the input with the output
 *   gradient as its filter, dilated by the stride.
 * - `Conv2DBackpropInput` (a slow scalar loop upstream): the input gradient is a convolution of the output
 *   gradient, zero-inserted by the stride, with the filter rotated by 180° and its channel axes swapped.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { conv, free, type Info, slice, transpose } from "./wasm_util.ts";
import { fmaConv, fmaConvFilterGrad } from "./fma_kernels.ts";

interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
}

function assertNhwc(dataFormat: string, kernel: string): void {
  if (dataFormat !== "NHWC") {
    throw new Error(`${kernel} on wasm supports dataFormat NHWC only, got ${dataFormat}`);
  }
}

/**
 * A forward convolution with possibly negative padding: a negative pad crops that side of the input
 * first (those rows or columns never reach the output).
 */
function convWithCrop(
  backend: BackendWasm,
  x: Info,
  filter: Info,
  pads: { top: number; bottom: number; left: number; right: number },
  dilations: [number, number],
): Info {
  const [n, h, w, c] = x.shape;
  const [fh, fw] = filter.shape;
  const fast = fmaConv(backend, x, filter, {
    fh,
    fw,
    sh: 1,
    sw: 1,
    dh: dilations[0],
    dw: dilations[1],
    pads,
    oh: h + pads.top + pads.bottom - (fh - 1) * dilations[0],
    ow: w + pads.left + pads.right - (fw - 1) * dilations[1],
  });
  if (fast) return fast;
  const crop = {
    top: Math.max(0, -pads.top),
    bottom: Math.max(0, -pads.bottom),
    left: Math.max(0, -pads.left),
    right: Math.max(0, -pads.right),
  };
  const cropped = crop.top || crop.bottom || crop.left || crop.right;
  const input = cropped
    ? slice(backend, x, [0, crop.top, crop.left, 0], [
      n,
      h - crop.top - crop.bottom,
      w - crop.left - crop.right,
      c,
    ])
    : x;
  const out = conv(
    backend,
    input,
    filter,
    {
      top: Math.max(0, pads.top),
      bottom: Math.max(0, pads.bottom),
      left: Math.max(0, pads.left),
      right: Math.max(0, pads.right),
    },
    [1, 1],
    dilations,
  );
  if (cropped) free(backend, input);
  return out;
}

/**
 * dW[i,j,c,o] = Σ_{b,y,x} X[b, y·sh + i − pt, x·sw + j − pl, c] · dY[b,y,x,o]: a convolution over the
 * "image" Xᵀ `[C,H,W,B]` with the "filter" dYᵀ `[OH,OW,B,O]` dilated by the stride, giving `[C,fh,fw,O]`.
 */
function conv2DBackpropFilter(
  args: {
    inputs: { x: Info; dy: Info };
    backend: BackendWasm;
    attrs: ConvGradAttrs & { filterShape: number[] };
  },
): Info {
  const { inputs: { x, dy }, backend, attrs } = args;
  assertNhwc(attrs.dataFormat, "Conv2DBackpropFilter");
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const [, h, w] = x.shape;
  const [, oh, ow] = dy.shape;
  const { top, left } = info.padInfo;
  const pads = { top, left, bottom: fh + (oh - 1) * sh - h - top, right: fw + (ow - 1) * sw - w - left };
  const fast = fmaConvFilterGrad(backend, x, dy, { fh, fw, sh, sw, dh: 1, dw: 1, pads, oh, ow });
  if (fast) return fast;
  const xT = transpose(backend, x, [3, 1, 2, 0]);
  const dyT = transpose(backend, dy, [1, 2, 0, 3]);
  const out = convWithCrop(backend, xT, dyT, pads, [sh, sw]);
  const dw = transpose(backend, out, [1, 2, 0, 3]);
  free(backend, xT, dyT, out);
  return dw;
}

/**
 * dX[b,r,c,k] = Σ_{i,j,o} dY[b,y,x,o] · W[i,j,k,o] with r = y·sh + i − pt, c = x·sw + j − pl.
 *
 * Stride 1: a convolution of dY with W rotated by 180° and transposed to `[fh,fw,O,C]`. Stride s > 1:
 * zero-inserting dY would waste (s²−1)/s² of the work, so we split dX by output phase (r mod sh,
 * c mod sw): each phase is a stride-1 convolution of dY with the filter taps of that phase, and the
 * phases are interleaved into dX.
 */
function conv2DBackpropInput(
  args: {
    inputs: { dy: Info; filter: Info };
    backend: BackendWasm;
    attrs: ConvGradAttrs & { inputShape: number[] };
  },
): Info {
  const { inputs: { dy, filter }, backend, attrs } = args;
  assertNhwc(attrs.dataFormat, "Conv2DBackpropInput");
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const [nb, h, w, c] = attrs.inputShape;
  const [, oh, ow] = dy.shape;
  const { top, left } = info.padInfo;
  if (sh === 1 && sw === 1) {
    const sub = subFilter(backend, filter, { i0: 0, j0: 0, mh: fh, mw: fw, sh, sw });
    const y = convWithCrop(backend, dy, sub, {
      top: fh - 1 - top,
      left: fw - 1 - left,
      bottom: h - oh + top,
      right: w - ow + left,
    }, [1, 1]);
    free(backend, sub);
    return y;
  }
  const dx = backend.makeOutput([nb, h, w, c], "float32");
  const phases: { p: number; q: number; y: Info | undefined }[] = [];
  for (let p = 0; p < sh && p < h; p++) {
    for (let q = 0; q < sw && q < w; q++) {
      // Taps i ≡ (p + pt) mod sh reach rows r ≡ p; row R·sh + p reads dY rows R + dp − m for tap i0 + m·sh.
      const i0 = (p + top) % sh, j0 = (q + left) % sw;
      const mh = i0 < fh ? Math.ceil((fh - i0) / sh) : 0;
      const mw = j0 < fw ? Math.ceil((fw - j0) / sw) : 0;
      const rows = Math.ceil((h - p) / sh), cols = Math.ceil((w - q) / sw);
      if (mh === 0 || mw === 0) {
        phases.push({ p, q, y: undefined }); // no tap reaches this phase: its gradient is 0
        continue;
      }
      const dp = (p + top - i0) / sh, dq = (q + left - j0) / sw;
      const sub = subFilter(backend, filter, { i0, j0, mh, mw, sh, sw });
      const padTop = mh - 1 - dp, padLeft = mw - 1 - dq;
      const y = convWithCrop(backend, dy, sub, {
        top: padTop,
        left: padLeft,
        bottom: rows - oh - padTop + mh - 1,
        right: cols - ow - padLeft + mw - 1,
      }, [1, 1]);
      free(backend, sub);
      phases.push({ p, q, y });
    }
  }
  interleave(backend, dx, phases, sh, sw);
  for (const ph of phases) if (ph.y) free(backend, ph.y);
  return dx;
}

/** The taps of one phase, rotated by 180° and transposed: out[m,n,o,c] = W[i0+(mh−1−m)·sh, j0+(mw−1−n)·sw, c, o]. */
function subFilter(
  backend: BackendWasm,
  filter: Info,
  t: { i0: number; j0: number; mh: number; mw: number; sh: number; sw: number },
): Info {
  const [, fw, c, o] = filter.shape;
  const out = backend.makeOutput([t.mh, t.mw, o, c], "float32");
  const src = backend.typedArrayFromHeap(filter) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  let d = 0;
  for (let m = 0; m < t.mh; m++) {
    const i = t.i0 + (t.mh - 1 - m) * t.sh;
    for (let n = 0; n < t.mw; n++) {
      const j = t.j0 + (t.mw - 1 - n) * t.sw;
      const base = (i * fw + j) * c * o;
      for (let oo = 0; oo < o; oo++) {
        for (let cc = 0; cc < c; cc++) dst[d++] = src[base + cc * o + oo];
      }
    }
  }
  return out;
}

/** dx[b, R·sh+p, C·sw+q, :] = y_pq[b, R, C, :]; phases without taps stay 0. */
function interleave(
  backend: BackendWasm,
  dx: Info,
  phases: { p: number; q: number; y: Info | undefined }[],
  sh: number,
  sw: number,
): void {
  const [nb, h, w, c] = dx.shape;
  const out = backend.typedArrayFromHeap(dx) as Float32Array;
  for (const { p, q, y } of phases) {
    const rows = Math.ceil((h - p) / sh), cols = Math.ceil((w - q) / sw);
    const src = y ? backend.typedArrayFromHeap(y) as Float32Array : undefined;
    for (let b = 0; b < nb; b++) {
      for (let r = 0; r < rows; r++) {
        for (let col = 0; col < cols; col++) {
          const to = ((b * h + r * sh + p) * w + col * sw + q) * c;
          if (src) {
            const from = ((b * rows + r) * cols + col) * c;
            out.set(src.subarray(from, from + c), to);
          } else {
            out.fill(0, to, to + c);
          }
        }
      }
    }
  }
}

/** `Conv2DBackpropFilter` for wasm on XNNPACK convolutions. */
export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: "Conv2DBackpropFilter",
  backendName: "wasm",
  kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
};

/** `Conv2DBackpropInput` for wasm on XNNPACK convolutions (replaces the stock scalar loop). */
export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: "Conv2DBackpropInput",
  backendName: "wasm",
  kernelFunc: conv2DBackpropInput as unknown as tf.KernelFunc,
};
