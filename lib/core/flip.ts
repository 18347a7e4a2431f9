/**
 * Horizontal flips of faces and keypoints, in the one convention every caller uses (augmentation,
 * flip test-time augmentation): a pixel centre x goes to 95 − x, and the left/right keypoints swap names
 * ({@link FLIP_KEYPOINT_PAIRS}), so that `left_eye_center` still names the subject's left eye.
 *
 * @example
 * ```ts
 * import { flipImages, flipKeypoints } from "./flip.ts";
 * import { syntheticDataset } from "../data/synthetic.ts";
 * const ds = syntheticDataset({ n: 4 });
 * const mirrored = { images: flipImages(ds.images, ds.n), keypoints: flipKeypoints(ds.keypoints, ds.n) };
 * flipKeypoints(mirrored.keypoints, ds.n); // its own inverse: ds.keypoints again
 * ```
 *
 * @module
 */
import { FLIP_KEYPOINT_PAIRS, IMAGE_SIZE, NUM_COORDS, PIXELS } from "./constants.ts";

/** Swaps the left/right keypoint pairs of one face's 30 coordinates in place (positions unchanged). */
export function swapLeftRight(coords: Float32Array, offset = 0): Float32Array {
  for (const [l, r] of FLIP_KEYPOINT_PAIRS) {
    const lx = coords[offset + 2 * l], ly = coords[offset + 2 * l + 1];
    coords[offset + 2 * l] = coords[offset + 2 * r];
    coords[offset + 2 * l + 1] = coords[offset + 2 * r + 1];
    coords[offset + 2 * r] = lx;
    coords[offset + 2 * r + 1] = ly;
  }
  return coords;
}

/** Mirrors `n` 96×96 faces left to right (a new array). */
export function flipImages(images: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n * PIXELS);
  for (let f = 0; f < n; f++) {
    for (let y = 0; y < IMAGE_SIZE; y++) {
      const row = f * PIXELS + y * IMAGE_SIZE;
      for (let x = 0; x < IMAGE_SIZE; x++) out[row + x] = images[row + IMAGE_SIZE - 1 - x];
    }
  }
  return out;
}

/**
 * The keypoints of the mirrored faces (a new array): x → 95 − x (pixel centres), and the left/right names
 * swap, so that `left_eye_center` stays the subject's left eye. Its own inverse.
 */
export function flipKeypoints(keypoints: Float32Array, n: number): Float32Array {
  const out = new Float32Array(keypoints.length);
  for (let i = 0; i < keypoints.length; i += 2) {
    out[i] = IMAGE_SIZE - 1 - keypoints[i];
    out[i + 1] = keypoints[i + 1];
  }
  for (let f = 0; f < n; f++) swapLeftRight(out, f * NUM_COORDS);
  return out;
}
