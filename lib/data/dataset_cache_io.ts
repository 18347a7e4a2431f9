/**
 * A cache of loaded photo datasets: decoding and cropping thousands of photos is the slow part of loading
 * (the 5141 faces of ytf68 + 300-W took ≈30 s), reading their bytes is not. An entry is keyed by the SHA-256
 * of every file of the folder (names and contents) and the loading parameters (split, margin, limit), so an
 * edited, added or removed file, or other parameters, make a new entry. Entries live in
 * `outputs/cache/datasets/<key>.{json,f32}`, written atomically; a damaged entry is ignored and rebuilt.
 *
 * @example
 * ```ts
 * import { readPtsFolder } from "./landmarks68_io.ts";
 * const dir = "../shared/data/300w/afw";
 * const ds = await cachedLoad([dir], { margin: 0.25 }, () => readPtsFolder(dir, { margin: 0.25 }));
 * ```
 *
 * @module
 */
import { NUM_COORDS, PIXELS } from "../core/constants.ts";
import { writeFileAtomic } from "../core/atomic_io.ts";
import { maskFromKeypoints } from "./dataset.ts";
import type { CropSource, KeypointDataset } from "./types.ts";

/** Where dataset caches go by default. */
export const DATASET_CACHE_DIR = "outputs/cache/datasets";

const hex = (b: ArrayBuffer) =>
  Array.from(new Uint8Array(b), (v) => v.toString(16).padStart(2, "0")).join("");

/** SHA-256 over the names and contents of the files directly inside `dirs` (and of plain files given). */
async function contentKey(paths: readonly string[], params: unknown): Promise<string> {
  const parts: string[] = [JSON.stringify(params)];
  for (const path of paths) {
    const info = await Deno.stat(path);
    const files = info.isDirectory
      ? (await Array.fromAsync(Deno.readDir(path))).filter((e) => e.isFile).map((e) => `${path}/${e.name}`)
      : [path];
    for (const file of files.sort()) {
      parts.push(`${file}:${hex(await crypto.subtle.digest("SHA-256", await Deno.readFile(file)))}`);
    }
  }
  return hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(parts.join("\n"))));
}

/**
 * The dataset `load` returns, from the cache when the files in `paths` and `params` are unchanged since it
 * was stored; else `load()` runs and its result is stored.
 */
export async function cachedLoad(
  paths: readonly string[],
  params: unknown,
  load: () => Promise<KeypointDataset>,
  dir = DATASET_CACHE_DIR,
): Promise<KeypointDataset> {
  const key = await contentKey(paths, params);
  const meta = `${dir}/${key}.json`, data = `${dir}/${key}.f32`;
  try {
    const m = JSON.parse(await Deno.readTextFile(meta));
    const bytes = await Deno.readFile(data);
    const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    if (floats.length !== m.n * (PIXELS + NUM_COORDS)) throw new Error("size");
    const images = floats.slice(0, m.n * PIXELS), keypoints = floats.slice(m.n * PIXELS);
    return {
      name: m.name,
      synthetic: m.synthetic,
      n: m.n,
      images,
      keypoints,
      mask: maskFromKeypoints(keypoints),
      ids: m.ids,
      groups: m.groups,
      parts: m.parts,
      sources: m.sources?.map((s: CropSource & { landmarks68?: number[] }) => ({
        ...s,
        landmarks68: s.landmarks68 && Float32Array.from(s.landmarks68),
      })),
    };
  } catch {
    // Missing or damaged: load and store again.
  }
  const ds = await load();
  // The cache only saves time: a folder that cannot be written (read-only, full) costs the next load, not
  // this one.
  try {
    await Deno.mkdir(dir, { recursive: true });
    const floats = new Float32Array(ds.n * (PIXELS + NUM_COORDS));
    floats.set(ds.images.subarray(0, ds.n * PIXELS));
    floats.set(ds.keypoints.subarray(0, ds.n * NUM_COORDS), ds.n * PIXELS);
    await writeFileAtomic(data, new Uint8Array(floats.buffer));
    const { images: _i, keypoints: _k, mask: _m, ...rest } = ds;
    await writeFileAtomic(
      meta,
      JSON.stringify({
        ...rest,
        sources: ds.sources?.map((s) => ({ ...s, landmarks68: s.landmarks68 && Array.from(s.landmarks68) })),
      }),
    );
  } catch (e) {
    console.error(`note: the dataset cache in ${dir} could not be written (${(e as Error).message})`);
  }
  return ds;
}
