/**
 * The tests' shared assertions, small shims over `node:assert` (the JSR standard library is not reachable
 * from our machines), named as Deno std's `@std/assert` names them.
 *
 * @module
 */
import assert from "node:assert/strict";

/** Deep, strict equality. */
export function assertEquals(actual: unknown, expected: unknown, msg?: string): void {
  if (msg === undefined) assert.deepStrictEqual(actual, expected);
  else assert.deepStrictEqual(actual, expected, msg);
}

/** `|actual − expected| ≤ tolerance` (default 1e-7), with the numbers in the message. */
export function assertAlmostEquals(actual: number, expected: number, tolerance = 1e-7, msg?: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${msg ? msg + ": " : ""}${actual} is not within ${tolerance} of ${expected}`,
  );
}

/** Asserts that `fn` throws an instance of `type` whose message includes `includes`. */
export function assertThrows(
  fn: () => unknown,
  type: new (...args: never[]) => Error,
  includes = "",
): void {
  assert.throws(fn, (e: unknown) => e instanceof type && e.message.includes(includes));
}

/** Awaits `fn`, asserts that it rejects with an instance of `type`, and returns the error. */
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  type: new (...args: never[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof type, `expected ${type.name}, got ${e}`);
    return e;
  }
  throw new assert.AssertionError({ message: `expected a ${type.name}, but nothing was thrown` });
}
