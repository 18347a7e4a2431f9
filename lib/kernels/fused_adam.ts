/**
 * Adam with each variable's update as one pass over the wasm heap (`c/heap_simd.c`) instead of tfjs's ~12
 * elementwise kernels (each a pass over the 6.4M weights of LeNet's dense layer). It is tfjs's
 * `AdamOptimizer` (same state, weights, serialisation and class name) whose `applyGradients` takes the fused
 * path on the `wasm` backend where the SIMD module is loaded and the FMA paths are on, and tfjs's own
 * update everywhere else; both compute the same float32 operations in the same order.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { fmaRouting } from "./fma_kernels.ts";

/** The private state of tfjs's AdamOptimizer that the fused update reads and advances. */
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  incrementIterations(): void;
}

function offset(backend: BackendWasm, t: tf.Tensor): number {
  return (backend as unknown as { getMemoryOffset(id: object): number }).getMemoryOffset(t.dataId);
}

/**
 * tfjs's Adam, fused on wasm.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * const w = tf.variable(tf.scalar(3));
 * const optimizer = new FusedAdamOptimizer(0.1);
 * optimizer.minimize(() => tf.square(w) as tf.Scalar);
 * ```
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  /** Same defaults as `tf.train.adam`. */
  constructor(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon ?? null as unknown as number);
  }

  /** One update of every variable; tfjs's own where the fused path does not apply. */
  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer["applyGradients"]>[0]): void {
    const engine = tf.getBackend() === "wasm" && fmaRouting.enabled
      ? fmaRouting.engine?.(tf.backend() as BackendWasm)
      : undefined;
    if (!engine) return super.applyGradients(variableGradients);
    const backend = tf.backend() as BackendWasm;
    const self = this as unknown as AdamState;
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((v) => v.name)
      : Object.keys(variableGradients);
    // β₁ᵗ and β₂ᵗ as float32, as tfjs's `sub(1, accBeta)` reads them.
    const c1 = 1 - self.accBeta1.dataSync()[0], c2 = 1 - self.accBeta2.dataSync()[0];
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        const moment = (list: AdamState["accumulatedFirstMoment"], suffix: string) =>
          list[i] ??= {
            originalName: `${name}/${suffix}`,
            variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
          };
        const m = moment(self.accumulatedFirstMoment, "m").variable;
        const v = moment(self.accumulatedSecondMoment, "v").variable;
        const g = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
        if (g == null) return;
        if (g.dtype !== "float32" || value.dtype !== "float32" || g.size !== value.size) {
          throw new Error(
            `Adam: gradient of ${name} is ${g.dtype} [${g.shape}], the variable ${value.dtype} ` +
              `[${value.shape}]`,
          );
        }
        const out = () => tf.engine().makeTensorFromTensorInfo(backend.makeOutput(value.shape, "float32"));
        const [w2, m2, v2] = [out(), out(), out()];
        engine.adam({
          w: offset(backend, value),
          g: offset(backend, g),
          m: offset(backend, m),
          v: offset(backend, v),
          w2: offset(backend, w2),
          m2: offset(backend, m2),
          v2: offset(backend, v2),
          n: value.size,
          beta1: self.beta1,
          beta2: self.beta2,
          c1,
          c2,
          epsilon: self.epsilon,
          lr: self.learningRate,
        });
        m.assign(m2);
        v.assign(v2);
        value.assign(w2);
      });
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    self.incrementIterations();
  }
}
