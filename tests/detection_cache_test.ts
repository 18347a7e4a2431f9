import assert from "node:assert/strict";
import { cachedDetector, cacheFileName } from "../lib/face/detection_cache_io.ts";
import { DEFAULT_DETECTOR_OPTIONS } from "../lib/face/detect_io.ts";
import type { FaceDetector } from "../lib/face/detect.ts";
import type { RawImage } from "../lib/core/image.ts";
import { DataError } from "../lib/core/errors.ts";

/** A detector that answers one box at the first pixel's value, counting its calls. */
function countingDetector(): FaceDetector & { calls: number } {
  return {
    calls: 0,
    options: DEFAULT_DETECTOR_OPTIONS,
    detect(gray: RawImage) {
      this.calls++;
      return [{ x: gray.data[0], y: 1, width: 30, height: 30 }];
    },
    close() {},
  };
}

const gray = (v: number): RawImage => ({ width: 4, height: 3, data: new Uint8Array(12).fill(v) });

Deno.test("cachedDetector: the same pixels are answered from the cache, also after a save and reopen; others are detected", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const d = countingDetector();
    const cached = await cachedDetector(d, "cnn|default", dir);
    assert.deepEqual(await cached.detectAsync(gray(7)), [{ x: 7, y: 1, width: 30, height: 30 }]);
    assert.deepEqual(await cached.detectAsync(gray(7)), [{ x: 7, y: 1, width: 30, height: 30 }]);
    assert.equal(d.calls, 1);
    await cached.detectAsync(gray(8)); // other pixels: detected
    assert.equal(d.calls, 2);
    await cached.save();
    const again = countingDetector();
    const reopened = await cachedDetector(again, "cnn|default", dir);
    assert.deepEqual(await reopened.detectAsync(gray(8)), [{ x: 8, y: 1, width: 30, height: 30 }]);
    assert.equal(again.calls, 0);
    assert.deepEqual(reopened.stats, { hits: 1, misses: 0 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cachedDetector: detectors that differ only in | and + (or any other character) keep separate caches", async () => {
  const names = ["cnn|default+chain", "cnn+default+chain", "cnn_default_chain", "cnn|default|chain"].map(
    cacheFileName,
  );
  assert.equal(new Set(names).size, names.length, names.join(" "));
  for (const n of names) assert.match(n, /^[A-Za-z0-9_.~-]+\.json$/);
  const dir = await Deno.makeTempDir();
  try {
    const union = await cachedDetector(countingDetector(), "cnn|default", dir);
    await union.detectAsync(gray(7));
    await union.save();
    const sequence = countingDetector();
    await (await cachedDetector(sequence, "cnn+default", dir)).detectAsync(gray(7));
    assert.equal(sequence.calls, 1, "not answered from the union's cache");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cachedDetector: a damaged cache file is a DataError naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/${cacheFileName("chain-sf1.1-mn5-min30-max0")}`;
    await Deno.writeTextFile(file, "[1, 2");
    await assert.rejects(
      () => cachedDetector(countingDetector(), "chain", dir),
      (e) => e instanceof DataError && e.message.includes(file) && e.message.includes("delete it"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
