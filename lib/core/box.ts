/**
 * Boxes in image pixels, and their overlap. {@link Box} is any axis-aligned box (a detected face, a
 * landmark bounding box); {@link CropBox} is the square, whole-pixel box a face is cut from.
 *
 * @example
 * ```ts
 * import { iou } from "./box.ts";
 * iou({ x: 0, y: 0, width: 2, height: 2 }, { x: 1, y: 0, width: 2, height: 2 }); // 1/3
 * ```
 *
 * @module
 */

/** An axis-aligned box in image pixels: top-left corner, width and height. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A square in original-image pixels: top-left pixel (`x`, `y`) and side `size`, all integers. */
export interface CropBox {
  x: number;
  y: number;
  size: number;
}

/** The {@link Box} a {@link CropBox} covers. */
export function cropBoxArea(box: CropBox): Box {
  return { x: box.x, y: box.y, width: box.size, height: box.size };
}

/** Intersection over union of two boxes (0 when they do not overlap or both are empty). */
export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  const inter = Math.max(0, w) * Math.max(0, h);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** The share of the smaller box that lies inside the other (1 when one contains the other). */
export function overlapOfSmaller(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  const smaller = Math.min(a.width * a.height, b.width * b.height);
  return smaller > 0 ? Math.max(0, w) * Math.max(0, h) / smaller : 0;
}
