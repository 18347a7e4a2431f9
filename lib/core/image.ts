/**
 * The one image type: 8-bit pixels, row-major, channels interleaved. A gray image has one channel
 * (`data.length === width × height`), an RGB image three.
 *
 * @module
 */

/** A decoded 8-bit image: `data` holds `width × height × channels` bytes, row-major, channels interleaved. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
}
