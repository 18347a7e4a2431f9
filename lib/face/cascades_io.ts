/**
 * Face detection with several of OpenCV's Haar cascades, in order of preference: the frontal default (the
 * thesis's), then `alt2`, then the profile cascade on the photo and on its mirror image (the profile cascade
 * only knows faces turned one way). A later cascade runs only when the earlier ones found nothing, so a
 * photo the default cascade handles costs what it did, while a face it misses gets more chances.
 *
 * Each cascade frames faces differently, so each box carries the cascade that found it and
 * `cropBoxForDetection` frames it with that cascade's calibration ({@link CASCADE_FRAMING}).
 *
 * @example
 * ```ts
 * import { createCascadeDetector } from "./cascades_io.ts";
 * import { readGray } from "../core/image_io.ts";
 * const detector = await createCascadeDetector();
 * const faces = detector.detect(await readGray("data/portraits/astronaut.png"));
 * detector.close();
 * ```
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { type Box, iou } from "../core/box.ts";
import { UsageError } from "../core/errors.ts";
import type { RawImage } from "../core/image.ts";
import { CASCADE_NAMES, type CascadeName } from "../data/crop.ts";
import { type FaceDetector, type FaceDetectorOptions, MAX_DETECT_SIDE, shrinkByFactor } from "./detect.ts";
import { createFaceDetector } from "./detect_io.ts";

export { CASCADE_FRAMING, CASCADE_NAMES, type CascadeName } from "../data/crop.ts";

/** The cascade files shipped in `data/` (OpenCV 4.6.0 as packaged by Debian's `opencv-data`). */
export const CASCADE_PATHS: Readonly<Record<CascadeName, string>> = {
  default: fileURLToPath(new URL("../../data/haarcascade_frontalface_default.xml", import.meta.url)),
  alt2: fileURLToPath(new URL("../../data/haarcascade_frontalface_alt2.xml", import.meta.url)),
  profile: fileURLToPath(new URL("../../data/haarcascade_profileface.xml", import.meta.url)),
};

/** A detection and where it came from. */
export interface CascadeFace extends Box {
  /** The cascade that found it. */
  cascade: CascadeName;
  /** True when found on the mirrored photo (its box is mapped back to the photo). */
  mirrored: boolean;
}

/** Options of {@link createCascadeDetector}. */
export interface CascadeDetectorOptions extends Omit<FaceDetectorOptions, "cascadePath"> {
  /** The cascades to try, in order (default: all of {@link CASCADE_NAMES}). */
  cascades?: readonly CascadeName[];
  /**
   * Last resort when every cascade found nothing: the first cascade on the photo turned by each of these
   * angles in degrees (Haar cascades only find faces within about ±15° of upright; faces in the wild tilt
   * to ±30°). Default ±25°; `[]` turns it off.
   */
  rotations?: readonly number[];
  /**
   * Very last resort, when the turned photos found nothing either: the first cascade on the photo with its
   * edges extended (replicated) by this fraction of its longer side, so that a face the frame cuts off (a
   * close-up whose chin or forehead is outside) can still fit a detection window. Default
   * {@link DEFAULT_EDGE_PAD}; 0 turns it off.
   */
  edgePad?: number;
}

/**
 * Edge extension of the last resort. Measured on our validation photos with the frontal cascade alone: 70 of
 * 83 HELEN faces found with 0.1 against 65 without (0.2: 71). As the FIRST stage of the chain it cost more
 * than it gave (end-to-end failures 8.0 % → 8.9 %: false boxes on the extended edges stopped the later
 * stages), so it runs only where everything else found nothing.
 */
export const DEFAULT_EDGE_PAD = 0.1;

/** A detector that tries several cascades; its boxes are {@link CascadeFace}s. */
export interface CascadeDetector extends FaceDetector {
  detect(gray: RawImage): CascadeFace[];
}

/**
 * Creates a detector trying `opts.cascades` in order until one finds a face.
 *
 * @throws {UsageError} for an unknown cascade name or bad detector settings.
 */
export async function createCascadeDetector(opts: CascadeDetectorOptions = {}): Promise<CascadeDetector> {
  const names = opts.cascades ?? CASCADE_NAMES;
  if (names.length === 0) throw new UsageError("at least one cascade is needed");
  for (const n of names) {
    if (!(CASCADE_NAMES as readonly string[]).includes(n)) {
      throw new UsageError(`unknown cascade "${n}": expected one of ${CASCADE_NAMES.join(", ")}`);
    }
  }
  const { cascades: _, rotations = [-25, 25], edgePad = DEFAULT_EDGE_PAD, ...detectorOptions } = opts;
  if (!(edgePad >= 0 && edgePad <= 1)) throw new UsageError(`edgePad must be within 0…1, got ${edgePad}`);
  const detectors: [CascadeName, FaceDetector][] = [];
  for (const name of names) {
    detectors.push([
      name,
      await createFaceDetector({ ...detectorOptions, cascadePath: CASCADE_PATHS[name] }),
    ]);
  }
  return {
    options: detectors[0][1].options,
    detect(gray: RawImage): CascadeFace[] {
      // The mirrored and turned copies are made of the photo as the detectors search it (a big photo at
      // the whole-factor reduction of MAX_DETECT_SIDE), not of the full photo; their boxes scale back by k.
      const k = Math.ceil(Math.max(gray.width, gray.height) / MAX_DETECT_SIDE);
      let small: RawImage | undefined;
      const searched = () => small ??= k > 1 ? shrinkByFactor(gray, k) : gray;
      const scaled = (b: Box): Box => ({ x: b.x * k, y: b.y * k, width: b.width * k, height: b.height * k });
      for (const [cascade, d] of detectors) {
        const found: CascadeFace[] = d.detect(gray).map((b) => ({ ...b, cascade, mirrored: false }));
        if (cascade === "profile") {
          const image = searched();
          for (const b of d.detect(mirrorGray(image))) {
            const back = { ...b, x: image.width - b.x - b.width };
            found.push({ ...scaled(back), cascade, mirrored: true });
          }
        }
        if (found.length > 0) return _dropOverlapping(found);
      }
      const [cascade, first] = detectors[0];
      for (const degrees of rotations) {
        const image = searched();
        // A box found on the turned photo keeps its size; its centre is turned back onto the photo.
        const found = first.detect(rotateGray(image, degrees)).map((b) => {
          const [cx, cy] = rotatePoint(b.x + (b.width - 1) / 2, b.y + (b.height - 1) / 2, image, -degrees);
          const back = {
            x: Math.round(cx - (b.width - 1) / 2),
            y: Math.round(cy - (b.height - 1) / 2),
            width: b.width,
            height: b.height,
          };
          return { ...scaled(back), cascade, mirrored: false };
        });
        if (found.length > 0) return _dropOverlapping(found);
      }
      if (edgePad === 0) return [];
      return _dropOverlapping(
        detectWithEdges(first, searched(), edgePad).map((b) => ({ ...scaled(b), cascade, mirrored: false })),
      );
    },
    close() {
      for (const [, d] of detectors) d.close();
    },
  };
}

/** Detections on `gray` with its edges extended by `fraction` of its longer side, in `gray`'s pixels. */
function detectWithEdges(detector: FaceDetector, gray: RawImage, fraction: number): Box[] {
  const p = Math.round(fraction * Math.max(gray.width, gray.height));
  return detector.detect(extendEdges(gray, p)).map((b) => ({ ...b, x: b.x - p, y: b.y - p }));
}

/** `gray` with `p` pixels added on every side, each a copy of the nearest edge pixel. */
export function extendEdges(gray: RawImage, p: number): RawImage {
  if (p === 0) return gray;
  const width = gray.width + 2 * p, height = gray.height + 2 * p;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const src = Math.min(gray.height - 1, Math.max(0, y - p)) * gray.width;
    const row = y * width;
    data.fill(gray.data[src], row, row + p);
    data.set(gray.data.subarray(src, src + gray.width), row + p);
    data.fill(gray.data[src + gray.width - 1], row + p + gray.width, row + width);
  }
  return { data, width, height };
}

/** `(x, y)` turned by `degrees` (counter-clockwise on screen) about the centre of `size`. */
function rotatePoint(x: number, y: number, size: { width: number; height: number }, degrees: number) {
  const t = degrees * Math.PI / 180, cos = Math.cos(t), sin = Math.sin(t);
  const cx = (size.width - 1) / 2, cy = (size.height - 1) / 2;
  return [cx + cos * (x - cx) + sin * (y - cy), cy - sin * (x - cx) + cos * (y - cy)];
}

/**
 * The photo turned by `degrees` (counter-clockwise on screen) about its centre, same size, nearest pixel;
 * what turns out of the frame is lost and what turns in is black. A point of the photo lands at
 * `rotatePoint(point, degrees)`.
 */
export function rotateGray(gray: RawImage, degrees: number): RawImage {
  const { width, height, data } = gray;
  const out = new Uint8Array(data.length);
  // The source of output pixel (x, y) is rotatePoint(x, y, −degrees), written out so no pair is allocated.
  const t = -degrees * Math.PI / 180, cos = Math.cos(t), sin = Math.sin(t);
  const cx = (width - 1) / 2, cy = (height - 1) / 2;
  for (let y = 0; y < height; y++) {
    const dy = y - cy;
    for (let x = 0; x < width; x++) {
      const dx = x - cx;
      const ix = Math.round(cx + cos * dx + sin * dy), iy = Math.round(cy - sin * dx + cos * dy);
      if (ix >= 0 && iy >= 0 && ix < width && iy < height) out[y * width + x] = data[iy * width + ix];
    }
  }
  return { width, height, data: out };
}

/** The photo mirrored left to right. */
export function mirrorGray(gray: RawImage): RawImage {
  const { width, height, data } = gray;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) out[row + x] = data[row + width - 1 - x];
  }
  return { width, height, data: out };
}

/**
 * Keeps the smaller of two boxes that overlap by more than 0.3 IoU (the same face found at two scales), and
 * returns the faces largest first. Measured on the 514 validation photos' cached frontal boxes with the
 * bundled model: keeping the larger raised ytf68's end-to-end NME from 6.03 % (every box, the evaluation
 * picking the best) to 6.97 %, keeping the smaller to 6.29 %; 9 of 495 photos had such a pair.
 */
export function _dropOverlapping<B extends Box>(faces: readonly B[]): B[] {
  const area = (b: Box) => b.width * b.height;
  const sorted = [...faces].sort((a, b) => area(a) - area(b) || a.y - b.y || a.x - b.x);
  const kept: B[] = [];
  for (const f of sorted) if (kept.every((k) => iou(k, f) <= 0.3)) kept.push(f);
  return kept.sort((a, b) => area(b) - area(a) || a.y - b.y || a.x - b.x);
}

/**
 * The version of the chain's rules, part of its detection cache's key (`openDetector`): bump it when they
 * change, so that answers cached under the old rules are not reused.
 */
export const CHAIN_VERSION = 3;
