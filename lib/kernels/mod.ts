/**
 * The project's `wasm` kernels: gradients that tfjs-backend-wasm 4.22.0 lacks or runs slowly, expressed on
 * its fast XNNPACK kernels. {@link registerWasmKernels} installs them (idempotent); `lib/backend_io.ts` calls
 * it before any training.
 *
 * @module
 */
import { conv2DBackpropFilterConfig, conv2DBackpropInputConfig } from "./conv2d_backprop.ts";
import * as tf from "@tensorflow/tfjs-core";
import { batchMatMulConfig } from "./batch_mat_mul.ts";
import { fusedBatchNormGradConfig } from "./batch_norm_grad.ts";
import { identityConfig, maxPoolGradConfig, sumConfig } from "./heap_kernels.ts";
import { replaceKernel } from "./wasm_util.ts";
import { reluGradConfig, reluGradKernelConfig } from "./relu_grad.ts";

export { batchMatMulConfig, conv2DBackpropFilterConfig, conv2DBackpropInputConfig, fusedBatchNormGradConfig };

/** Every kernel this project registers for `wasm`. */
export const WASM_KERNELS: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  batchMatMulConfig,
  maxPoolGradConfig,
  sumConfig,
  identityConfig,
  reluGradKernelConfig,
];

/**
 * Registers {@link WASM_KERNELS} for the `wasm` backend, replacing stock kernels of the same name, and the
 * tile-free batch-norm gradient ({@link fusedBatchNormGradConfig}) and the one-pass ReLU gradient
 * (`relu_grad.ts`), for all backends. Safe to
 * call more than once. Call it after importing `@tensorflow/tfjs-backend-wasm`.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-wasm";
 * registerWasmKernels();
 * ```
 */
export function registerWasmKernels(): string[] {
  for (const config of WASM_KERNELS) replaceKernel(config);
  for (const grad of [fusedBatchNormGradConfig, reluGradConfig]) {
    if (tf.getGradient(grad.kernelName)?.gradFunc !== grad.gradFunc) tf.registerGradient(grad);
  }
  return WASM_KERNELS.map((k) => k.kernelName);
}
