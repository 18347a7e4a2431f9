/**
 * The gradient of `FusedBatchNorm` without `tile`. tfjs-core's gradient tiles the per-channel
 * 1/√(var+ε) to the full activation shape before multiplying; on wasm `Tile` is a slow scalar loop (4.2 s of
 * a 12 s thesis-ResNet step at batch 32). Broadcasting gives the same values with no copy. Gradients are
 * registered for every backend (tfjs keys them by kernel name only); the maths is unchanged.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** The `FusedBatchNorm` gradient with broadcasting in place of `tile`. */
export const fusedBatchNormGradConfig: tf.GradConfig = {
  kernelName: "FusedBatchNorm",
  inputsToSave: ["x", "mean", "variance", "scale"],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const g = dy as tf.Tensor;
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const [x, mean, variance, scale] = saved;
    const scaleValue = scale == null ? tf.scalar(1) : scale;
    const reductionAxes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const perChannel = mean.rank === 1;
    const reduce = (t: tf.Tensor) => tf.reshape(perChannel ? tf.sum(t, reductionAxes) : t, mean.shape);
    const xMinusMean = tf.sub(x, mean);
    const dyTimesScale = tf.mul(g, scaleValue);
    const rsqrtVar = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const minusHalfRCube = tf.mul(tf.mul(tf.mul(rsqrtVar, rsqrtVar), rsqrtVar), tf.scalar(-0.5));
    return {
      // A rank-1 (per-channel) rsqrtVar broadcasts over the last axis of NHWC activations.
      x: () => tf.reshape(tf.mul(tf.mul(g, rsqrtVar), scaleValue), x.shape),
      mean: () => reduce(tf.mul(tf.mul(rsqrtVar, tf.scalar(-1)), dyTimesScale)),
      variance: () => reduce(tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyTimesScale)),
      scale: () => reduce(tf.mul(g, tf.mul(xMinusMean, rsqrtVar))),
      offset: () => reduce(g),
    };
  },
};
