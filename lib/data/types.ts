/**
 * The one dataset form used by everything downstream of the readers: grayscale 96×96 faces and their 15
 * keypoints in pixels of the 96×96 image.
 *
 * Coordinates follow the Kaggle convention: x to the right, y down, in pixel units where the centre of the
 * top-left pixel is (0, 0). A missing coordinate is NaN and its mask entry is 0.
 *
 * @module
 */

/** Where a 96×96 face came from in its original image, so predictions can be mapped back. */
export interface CropSource {
  /** Path of the original image. */
  file: string;
  /** Original image width and height in pixels. */
  width: number;
  height: number;
  /**
   * The square crop in original-image pixels: top-left corner and side. It may extend past the image
   * border (the outside is filled with black). A point maps to the 96×96 face as
   * `u = (x - box.x + 0.5) * 96 / box.size - 0.5` (and the same for y).
   */
  box: { x: number; y: number; size: number };
  /** The 68 ground-truth landmarks in original-image pixels, `[x0, y0, …, x67, y67]`, where known. */
  landmarks68?: Float32Array;
}

/** N faces with keypoints: the typed form every reader returns and every later step takes. */
export interface KeypointDataset {
  /** Human-readable origin, e.g. `"synthetic:500 (seed 0)"` or a file path. */
  name: string;
  /** True for the generated faces of the embedded default; shown wherever the data appears. */
  synthetic: boolean;
  /** Number of faces. */
  n: number;
  /** `n × 96 × 96` grayscale pixels in [0, 1], row-major, one face after another. */
  images: Float32Array;
  /** `n × 30` coordinates in 96×96 pixels, Kaggle column order; NaN where missing. */
  keypoints: Float32Array;
  /** `n × 30`: 1 where the coordinate is present, 0 where missing. */
  mask: Uint8Array;
  /** Per-face identifier (file name, Kaggle ImageId), where the source has one. */
  ids?: string[];
  /** Per-face group (the person a frame shows), used by group splits. */
  groups?: string[];
  /**
   * Per-face name of the dataset a face came from when several were loaded as one (`A+B`), e.g. `"ytf68"`,
   * `"afw"`; metrics are reported per part as well as in total.
   */
  parts?: string[];
  /** Per-face crop provenance for faces cut from larger images. */
  sources?: CropSource[];
}
