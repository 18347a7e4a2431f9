/**
 * ReLU's gradient in one pass on wasm. tfjs computes it as `mul(dy, step(cast(x)))`: three kernels, each a
 * pass over the activation (≈4 % of a LeNet step, most of it at conv1's 32×94×94×32). The gradient below
 * runs the kernel `ReluGradFkd` (`c/heap_simd.c`, the same arithmetic) on wasm where the SIMD module is
 * loaded and the FMA paths are on, and tfjs's own formula everywhere else.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { simdAvailable, simdReluGrad } from "./fma_kernels.ts";
import type { Info } from "./wasm_util.ts";

/** The name of the fused kernel (registered for wasm only). */
export const RELU_GRAD_KERNEL = "ReluGradFkd";

/** `dx = dy · step(x)` for wasm; throws where the SIMD path does not apply (the gradient checks first). */
function reluGrad(args: { inputs: { dy: Info; x: Info }; backend: BackendWasm }): Info {
  const { inputs: { dy, x }, backend } = args;
  const out = simdReluGrad(backend, dy, x);
  if (!out) throw new Error(`${RELU_GRAD_KERNEL} needs float32 dy and x of one shape and the SIMD module`);
  return out;
}

/** The fused kernel for wasm. */
export const reluGradKernelConfig: tf.KernelConfig = {
  kernelName: RELU_GRAD_KERNEL,
  backendName: "wasm",
  kernelFunc: reluGrad as unknown as tf.KernelFunc,
};

/** Whether the fused kernel runs for these tensors on the current backend (the rule of `simdReluGrad`). */
function fusable(dy: tf.Tensor, x: tf.Tensor): boolean {
  return tf.getBackend() === "wasm" && dy.dtype === "float32" && x.dtype === "float32" &&
    dy.shape.join() === x.shape.join() && simdAvailable(tf.backend() as BackendWasm);
}

/** ReLU's gradient (all backends): the fused kernel on wasm where it applies, else tfjs's formula. */
export const reluGradConfig: tf.GradConfig = {
  kernelName: "Relu",
  inputsToSave: ["x"],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    const g = dy as tf.Tensor;
    return {
      x: () =>
        fusable(g, x)
          ? tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: g, x }) as tf.Tensor
          : tf.mul(g, tf.step(tf.cast(x, "float32"))),
    };
  },
};
