/**
 * Seeded weight initialisers, so that `createModel(name, {seed})` builds the same weights every time.
 * Each layer draws its own seed from one {@link Rng}, because layers of equal shape given the same seed
 * would start with identical weights.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../core/rng.ts";

type Initializer = ReturnType<typeof tf.initializers.heNormal>;

/** Hands out seeded initialisers, one fresh seed per call. */
export class SeededInit {
  readonly #rng: Rng;

  /** @param seed any integer; `undefined` picks a random one (an unrepeatable model). */
  constructor(seed?: number) {
    this.#rng = new Rng(seed ?? Math.floor(Math.random() * 2 ** 31));
  }

  #seed(): number {
    return this.#rng.int(2 ** 31);
  }

  /** He-normal (for kernels followed by ReLU). */
  he(): Initializer {
    return tf.initializers.heNormal({ seed: this.#seed() });
  }

  /** Glorot-uniform (Keras's default; for linear outputs). */
  glorot(): Initializer {
    return tf.initializers.glorotUniform({ seed: this.#seed() });
  }
}
