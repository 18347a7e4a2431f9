/**
 * Face boxes and keypoints drawn over a photograph as an SVG overlay, so lines and dots are anti-aliased at
 * any image size: the camera page shows it over the video, `writeAnnotatedPng` (`png_io.ts`) composites it
 * onto the photo with sharp.
 *
 * Colours: boxes green, points by side in `SIDE_COLOURS` (the subject's left orange, right cyan, midline
 * magenta). "Left" is the subject's left, on the image's right-hand side.
 *
 * @example
 * ```ts
 * import { writeAnnotatedPng } from "./png_io.ts";
 * import { readRgb } from "../core/image_io.ts";
 *
 * const rgb = await readRgb("data/portraits/astronaut.png");
 * await writeAnnotatedPng("outputs/astronaut.png", rgb, [
 *   { box: [177, 65, 96, 96], keypoints: { left_eye_center: [240, 100], right_eye_center: [205, 100] } },
 * ]);
 * ```
 *
 * @module
 */
import { KEYPOINT_SIDE, type KeypointName, type KeypointSide, SIDE_COLOURS } from "../core/constants.ts";

/** One face to draw: its box and named points, in original-image pixels. */
export interface AnnotatedFace {
  /** `[x, y, width, height]`: top-left corner of the top-left pixel inside the box, and its size. */
  box?: readonly [number, number, number, number];
  /** Points by keypoint name, with pixel centres at integers (the top-left pixel's centre is (0, 0)). */
  keypoints?: Readonly<Record<string, readonly [number, number]>>;
  /** Text drawn above the box, e.g. `"face 1"`. */
  label?: string;
}

/** Drawing options of {@link annotationSvg}. */
export interface AnnotateOptions {
  /** Write each keypoint's name beside it; default false (they clutter small faces). */
  labels?: boolean;
  /** Dot radius in pixels; default scales with the image (≥ 2). */
  pointRadius?: number;
  /** Box line width in pixels; default scales with the image (≥ 1). */
  lineWidth?: number;
}

/** The box colour and {@link SIDE_COLOURS}, exported so legends can match. */
export const ANNOTATION_COLOURS = { box: "#22dd44", ...SIDE_COLOURS } as const;

/** Which side of the subject's face a keypoint lies on ({@link KEYPOINT_SIDE}; other names: centre). */
export function keypointSide(name: string): KeypointSide {
  return KEYPOINT_SIDE[name as KeypointName] ?? "centre";
}

/** Builds the SVG overlay (exported for tests and for callers that composite it themselves). */
export function annotationSvg(
  width: number,
  height: number,
  faces: readonly AnnotatedFace[],
  opts: AnnotateOptions = {},
): string {
  const scale = Math.min(width, height);
  const r = opts.pointRadius ?? Math.max(2, Math.round(scale / 160));
  const lw = opts.lineWidth ?? Math.max(1, Math.round(scale / 250));
  const fontSize = Math.max(10, Math.round(scale / 45));
  const parts: string[] = [];
  for (const face of faces) {
    if (face.box) {
      const [x, y, w, h] = face.box;
      parts.push(
        `<rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" fill="none" ` +
          `stroke="${ANNOTATION_COLOURS.box}" stroke-width="${lw}"/>`,
      );
      if (face.label) {
        parts.push(
          `<text x="${num(x)}" y="${num(Math.max(fontSize, y - lw - 2))}" font-family="sans-serif" ` +
            `font-size="${fontSize}" fill="${ANNOTATION_COLOURS.box}">${escapeXml(face.label)}</text>`,
        );
      }
    }
    for (const [name, [kx, ky]] of Object.entries(face.keypoints ?? {})) {
      if (!Number.isFinite(kx) || !Number.isFinite(ky)) continue; // a missing point is not drawn
      // Pixel centres sit at integers; in SVG the top-left pixel's centre is (0.5, 0.5).
      const cx = kx + 0.5, cy = ky + 0.5;
      const colour = ANNOTATION_COLOURS[keypointSide(name)];
      parts.push(
        `<circle cx="${num(cx)}" cy="${num(cy)}" r="${r}" fill="${colour}" stroke="black" ` +
          `stroke-width="${Math.max(0.5, r / 4)}"/>`,
      );
      if (opts.labels) {
        parts.push(
          `<text x="${num(cx + r + 1)}" y="${num(cy - r - 1)}" font-family="sans-serif" ` +
            `font-size="${Math.round(fontSize * 0.6)}" fill="${colour}">${escapeXml(name)}</text>`,
        );
      }
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${
    parts.join("")
  }</svg>`;
}

function num(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
