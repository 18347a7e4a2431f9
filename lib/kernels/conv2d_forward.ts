/**
 * The forward 2-D convolution for the `wasm` backend on the relaxed-SIMD product (`fma_kernels.ts`):
 * `Conv2D` and `FusedConv2D` (conv + bias + activation, with the bias and ReLU applied as the product is
 * stored). Anything the FMA path does not cover (NCHW, PReLU or other activations, a bias that is not one
 * value per output channel, a product too small to gain, no relaxed SIMD) runs the stock XNNPACK kernel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { type ConvEpilogue, fmaConv } from "./fma_kernels.ts";
import { type Info, original } from "./wasm_util.ts";

interface ConvAttrs {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dilations: [number, number] | number;
  dimRoundingMode?: "floor" | "round" | "ceil";
  activation?: string;
  leakyreluAlpha?: number;
}

interface ConvArgs {
  inputs: { x: Info; filter: Info; bias?: Info; preluActivationWeights?: Info };
  backend: BackendWasm;
  attrs: ConvAttrs;
}

/**
 * Input channels below which XNNPACK keeps the forward convolution: with a depth of a few taps the product is
 * all setup (LeNet's conv1, 96×96×1→32: 0.95× on the FMA path; 32 channels and more: 1.02–1.11×, one thread,
 * CPU time, `deno task bench kernels`).
 */
const MIN_CHANNELS = 8;

/** The convolution on the FMA path, or undefined where it does not apply. */
function fmaForward(args: ConvArgs, epilogue: ConvEpilogue): Info | undefined {
  const { inputs: { x, filter }, backend, attrs } = args;
  if (attrs.dataFormat !== "NHWC" || x.dtype !== "float32" || filter.dtype !== "float32") return undefined;
  if (x.shape[3] < MIN_CHANNELS) return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { top, bottom, left, right } = info.padInfo;
  return fmaConv(backend, x, filter, {
    fh: info.filterHeight,
    fw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    pads: { top, bottom, left, right },
    oh: info.outHeight,
    ow: info.outWidth,
  }, epilogue);
}

function conv2D(args: ConvArgs): Info {
  return fmaForward(args, {}) ?? original("Conv2D").kernelFunc(args as never) as Info;
}

/** A bias of one float32 per output channel (shape `[O]`, or `[1,…,1,O]`), which the epilogue adds. */
function perChannel(bias: Info | undefined, channels: number): boolean {
  if (!bias) return true;
  const { shape } = bias;
  return bias.dtype === "float32" && shape.length >= 1 && shape[shape.length - 1] === channels &&
    shape.slice(0, -1).every((d) => d === 1);
}

function fusedConv2D(args: ConvArgs): Info {
  const { inputs: { filter, bias, preluActivationWeights }, attrs } = args;
  const activation = attrs.activation ?? "linear";
  const fast = (activation === "linear" || activation === "relu") && !preluActivationWeights &&
      perChannel(bias, filter.shape[3])
    ? fmaForward(args, { bias, relu: activation === "relu" })
    : undefined;
  return fast ?? original("FusedConv2D").kernelFunc(args as never) as Info;
}

/** `Conv2D` for wasm: the FMA product where it applies, else the stock XNNPACK kernel. */
export const conv2DConfig: tf.KernelConfig = {
  kernelName: "Conv2D",
  backendName: "wasm",
  kernelFunc: conv2D as unknown as tf.KernelFunc,
};

/** `FusedConv2D` for wasm: the FMA product with bias and ReLU in its epilogue, else the stock kernel. */
export const fusedConv2DConfig: tf.KernelConfig = {
  kernelName: "FusedConv2D",
  backendName: "wasm",
  kernelFunc: fusedConv2D as unknown as tf.KernelFunc,
};
