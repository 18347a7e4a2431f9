/**
 * A cache of face detections on disk, so that evaluating several models or settings on the same photos runs
 * the Haar cascades once. The key of an entry is the SHA-256 of the image's pixels (so a re-encoded or
 * renamed file with the same pixels hits, and an edited one misses); the cache file is named after the
 * detector's settings (cascades, scale factor, neighbours, sizes), so other settings get a cache of their own.
 * Entries are JSON in `outputs/cache/detections/<settings>.json`, written atomically by {@link saveTo}.
 *
 * @example
 * ```ts
 * import { createCascadeDetector } from "./cascades_io.ts";
 * import { readGray } from "../core/image_io.ts";
 * const cached = await cachedDetector(await createCascadeDetector(), "chain");
 * const boxes = await cached.detectAsync(await readGray("data/portraits/astronaut.png"));
 * await cached.save();
 * ```
 *
 * @module
 */
import type { Box } from "../core/box.ts";
import type { RawImage } from "../core/image.ts";
import { writeFileAtomic } from "../core/atomic_io.ts";
import { DataError } from "../core/errors.ts";
import type { FaceDetector } from "./detect.ts";

const encodeHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** Where detection caches go by default. */
export const DETECTION_CACHE_DIR = "outputs/cache/detections";

/**
 * The cache file's name for a detector's settings: letters, digits, `.`, `-` and `_` as they are, any other
 * character as its code in hex between two `~`, so that two settings never share a file (`cnn|default` and
 * `cnn+default` are different detectors).
 */
export function cacheFileName(settings: string): string {
  return settings.replace(/[^A-Za-z0-9_.-]/g, (c) => `~${c.codePointAt(0)!.toString(16)}~`) + ".json";
}

/** A detector whose answers are remembered on disk. */
export interface CachedDetector {
  /** The boxes for `gray`: from the cache, or from the detector (then remembered). */
  detectAsync(gray: RawImage): Promise<Box[]>;
  /** Hits and misses so far. */
  readonly stats: { hits: number; misses: number };
  /** Writes the cache file (atomically) when anything was added. */
  save(): Promise<void>;
}

/**
 * Wraps `detector` with the cache file for `label` plus its settings in `dir`.
 *
 * @throws {DataError} naming the cache file when it exists but is not a detection cache (delete it).
 */
export async function cachedDetector(
  detector: FaceDetector,
  label: string,
  dir = DETECTION_CACHE_DIR,
): Promise<CachedDetector> {
  const o = detector.options;
  const settings = `${label}-sf${o.scaleFactor}-mn${o.minNeighbors}-min${o.minSize}-max${o.maxSize}`;
  const file = `${dir}/${cacheFileName(settings)}`;
  // Boxes keep every field the detector gave them (a cascade chain's `cascade` and `mirrored`).
  let entries: Record<string, Box[]> = {};
  try {
    entries = JSON.parse(await Deno.readTextFile(file));
    if (typeof entries !== "object" || entries === null || Array.isArray(entries)) {
      throw new Error("not a map");
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new DataError(`not a detection cache (${(e as Error).message}); delete it to rebuild`, { file });
    }
  }
  let dirty = false;
  const stats = { hits: 0, misses: 0 };
  return {
    stats,
    async detectAsync(gray: RawImage): Promise<Box[]> {
      const key = `${gray.width}x${gray.height}:` +
        encodeHex(
          new Uint8Array(await crypto.subtle.digest("SHA-256", gray.data as Uint8Array<ArrayBuffer>)),
        );
      const hit = entries[key];
      if (hit) {
        stats.hits++;
        return hit;
      }
      stats.misses++;
      const boxes = detector.detect(gray);
      entries[key] = boxes;
      dirty = true;
      return boxes;
    },
    async save(): Promise<void> {
      if (!dirty) return;
      await Deno.mkdir(dir, { recursive: true });
      await writeFileAtomic(file, JSON.stringify(entries));
      dirty = false;
    },
  };
}
