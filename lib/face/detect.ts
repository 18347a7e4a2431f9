/**
 * Face detection in photographs with OpenCV.js and the frontal-face Haar cascade, as the thesis did
 * (`cv2.CascadeClassifier(...).detectMultiScale(gray, 1.3, 5)`).
 *
 * Defaults: minNeighbors 5 as in the thesis, but scale factor 1.1 (OpenCV's own default) rather than the
 * thesis's 1.3. On `../shared/data/ytf68` (minimum size 30) 1.1 found the face in 3077 of 3129 training
 * frames (98.3%) and 688 of 694 test frames (99.1%); 1.3 in 2748 (87.8%) and 627 (90.3%), at roughly half
 * the time per image. The thesis's settings are {@link THESIS_DETECTOR_OPTIONS}.
 *
 * OpenCV.js is loaded once per process and shared by every detector. Its module object is a "thenable"
 * that resolves to itself, so `await`ing it hangs forever: we wait for the runtime instead and then
 * remove its `then`.
 *
 * Runs anywhere (the camera page uses it): {@link createFaceDetectorFromCascade} takes the cascade's bytes;
 * `createFaceDetector` in `detect_io.ts` reads them from a file.
 *
 * @example
 * ```ts
 * import { createFaceDetectorFromCascade } from "./detect.ts";
 *
 * const res = await fetch("/data/haarcascade_frontalface_default.xml");
 * const detector = await createFaceDetectorFromCascade(new Uint8Array(await res.arrayBuffer()));
 * const faces = detector.detect({ data: new Uint8Array(640 * 480), width: 640, height: 480 }); // []
 * ```
 *
 * @module
 */

import cvModule from "@techstark/opencv-js";
import { DataError, UsageError } from "../core/errors.ts";
import type { Box } from "../core/box.ts";
import type { RawImage } from "../core/image.ts";

/** Settings of a face detector; every field has a default. */
export interface FaceDetectorOptions {
  /** Haar cascade XML; default `DEFAULT_CASCADE_PATH` (`detect_io.ts`). */
  cascadePath?: string;
  /** Step between detection scales, > 1; default 1.1 (OpenCV's default; the thesis used 1.3). */
  scaleFactor?: number;
  /** Overlapping raw hits a face needs to be kept, integer ≥ 0; default 5 (the thesis's value). */
  minNeighbors?: number;
  /** Smallest face side in pixels; default 30 (faces smaller than this hold too little for a 96×96 crop). */
  minSize?: number;
  /** Largest face side in pixels; default 0 = no limit. */
  maxSize?: number;
}

/** Finds faces in grayscale images. Create one with {@link createFaceDetector}. */
export interface FaceDetector {
  /** The settings in use, defaults filled in. */
  readonly options: Readonly<Required<FaceDetectorOptions>>;
  /** Faces in `gray`, largest first (ties: top to bottom, then left to right); `[]` when there is none. */
  detect(gray: RawImage): Box[];
  /** Frees the cascade's memory inside OpenCV; `detect` fails afterwards. */
  close(): void;
}

/**
 * The longest image side the cascade searches. OpenCV.js runs out of its wasm memory on photos of about
 * 27 megapixels (`memory access out of bounds`, then every later call fails), and the time grows with the
 * pixels (≈2.6 s for 4000×3000), so a larger image is first shrunk by the smallest whole factor that brings
 * it within this side, by averaging k×k blocks, and the boxes are scaled back. Faces smaller than about
 * 24·k pixels are then missed; on a 8000×6000 photo (k = 5) that is 120 px, 2 % of its width.
 */
export const MAX_DETECT_SIDE = 1600;

/** The detection defaults: scale factor 1.1, 5 neighbours, faces of at least 30 pixels, no maximum. */
export const DETECTION_DEFAULTS: Readonly<Required<Omit<FaceDetectorOptions, "cascadePath">>> = {
  scaleFactor: 1.1,
  minNeighbors: 5,
  minSize: 30,
  maxSize: 0,
};

/** The thesis's settings, `detectMultiScale(gray, 1.3, 5)`: faster, misses more faces. */
export const THESIS_DETECTOR_OPTIONS: Readonly<FaceDetectorOptions> = { scaleFactor: 1.3, minNeighbors: 5 };

// The few OpenCV.js members we use; the package's own typings are huge and slow to check.
interface CvMat {
  data: Uint8Array;
  delete(): void;
}
interface CvRectVector {
  size(): number;
  get(i: number): Box;
  delete(): void;
}
interface CvCascade {
  load(path: string): boolean;
  empty(): boolean;
  detectMultiScale(
    image: CvMat,
    objects: CvRectVector,
    scaleFactor: number,
    minNeighbors: number,
    flags: number,
    minSize: unknown,
    maxSize: unknown,
  ): void;
  delete(): void;
}
interface OpenCv {
  Mat: new (rows: number, cols: number, type: number) => CvMat;
  CV_8UC1: number;
  RectVector: new () => CvRectVector;
  CascadeClassifier: new () => CvCascade;
  Size: new (width: number, height: number) => unknown;
  FS_createDataFile(
    parent: string,
    name: string,
    data: Uint8Array,
    r: boolean,
    w: boolean,
    own: boolean,
  ): void;
  FS_unlink(path: string): void;
  onRuntimeInitialized?: () => void;
  then?: unknown;
}

let openCvReady: Promise<OpenCv> | undefined;

/**
 * Resolves once OpenCV.js's WebAssembly runtime is ready (≈0.2–0.3 s the first time, then at once).
 * Exported for callers that use other OpenCV functions; detectors call it themselves.
 */
export function loadOpenCv(): Promise<OpenCv> {
  openCvReady ??= new Promise<OpenCv>((resolve) => {
    const cv = cvModule as unknown as OpenCv;
    const done = () => {
      // Without its `then`, the module can be returned from async functions and awaited safely.
      delete cv.then;
      resolve(cv);
    };
    if (typeof cv.Mat === "function") return done();
    const previous = cv.onRuntimeInitialized;
    cv.onRuntimeInitialized = () => {
      previous?.();
      done();
    };
  });
  return openCvReady;
}

let cascadeFileCount = 0;

/**
 * `opts` with every unset field filled in ({@link DETECTION_DEFAULTS}, `cascadePath` from the argument),
 * checked.
 *
 * @throws {UsageError} for out-of-range settings.
 */
export function detectorOptions(
  opts: FaceDetectorOptions,
  cascadePath: string,
): Required<FaceDetectorOptions> {
  const options = { cascadePath, ...DETECTION_DEFAULTS, ...withoutUndefined(opts) };
  checkOptions(options);
  return options;
}

/**
 * Creates a face detector from the cascade XML's bytes (for callers without a file system, such as the
 * browser page, which fetches them). `opts.cascadePath` only names the cascade in errors.
 *
 * @throws {UsageError} for out-of-range settings.
 * @throws {DataError} when the bytes are not a cascade OpenCV can load.
 */
export async function createFaceDetectorFromCascade(
  bytes: Uint8Array,
  opts: FaceDetectorOptions = {},
): Promise<FaceDetector> {
  const options = detectorOptions(opts, "the cascade bytes");
  const cv = await loadOpenCv();
  // The cascade is read from OpenCV's in-memory file system; a fresh name per detector avoids clashes.
  const fsName = `cascade_${cascadeFileCount++}.xml`;
  cv.FS_createDataFile("/", fsName, bytes, true, false, false);
  const cascade = new cv.CascadeClassifier();
  let loaded = false;
  try {
    loaded = cascade.load(`/${fsName}`) && !cascade.empty();
  } finally {
    cv.FS_unlink(`/${fsName}`);
  }
  if (!loaded) {
    cascade.delete();
    throw new DataError("not a Haar cascade OpenCV can load", { file: options.cascadePath });
  }
  let closed = false;
  return {
    options,
    detect(gray: RawImage): Box[] {
      if (closed) throw new Error("FaceDetector.detect called after close()");
      checkGray(gray);
      // Big photos are searched at a whole-factor reduction and the boxes scaled back (see MAX_DETECT_SIDE).
      const k = Math.ceil(Math.max(gray.width, gray.height) / MAX_DETECT_SIDE);
      const image = k > 1 ? shrinkByFactor(gray, k) : gray;
      const mat = new cv.Mat(image.height, image.width, cv.CV_8UC1);
      const found = new cv.RectVector();
      try {
        mat.data.set(image.data);
        const min = new cv.Size(Math.round(options.minSize / k), Math.round(options.minSize / k));
        const max = new cv.Size(Math.ceil(options.maxSize / k), Math.ceil(options.maxSize / k));
        cascade.detectMultiScale(mat, found, options.scaleFactor, options.minNeighbors, 0, min, max);
        const faces: Box[] = [];
        for (let i = 0; i < found.size(); i++) {
          const r = found.get(i);
          faces.push({ x: r.x * k, y: r.y * k, width: r.width * k, height: r.height * k });
        }
        return faces.sort((a, b) => b.width * b.height - a.width * a.height || a.y - b.y || a.x - b.x);
      } finally {
        mat.delete();
        found.delete();
      }
    },
    close() {
      if (!closed) cascade.delete();
      closed = true;
    },
  };
}

function withoutUndefined(opts: FaceDetectorOptions): FaceDetectorOptions {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
}

function checkOptions(o: Required<FaceDetectorOptions>): void {
  if (!(o.scaleFactor > 1) || !Number.isFinite(o.scaleFactor)) {
    throw new UsageError(`scaleFactor must be a number > 1, got ${o.scaleFactor}`);
  }
  if (!Number.isInteger(o.minNeighbors) || o.minNeighbors < 0) {
    throw new UsageError(`minNeighbors must be an integer ≥ 0, got ${o.minNeighbors}`);
  }
  if (!Number.isInteger(o.minSize) || o.minSize < 0) {
    throw new UsageError(`minSize must be an integer ≥ 0 (pixels), got ${o.minSize}`);
  }
  if (!Number.isInteger(o.maxSize) || o.maxSize < 0 || (o.maxSize > 0 && o.maxSize < o.minSize)) {
    throw new UsageError(`maxSize must be 0 (no limit) or an integer ≥ minSize, got ${o.maxSize}`);
  }
}

function checkGray(gray: RawImage): void {
  const { width, height, data } = gray;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new UsageError(`image size must be positive integers, got ${width}×${height}`);
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height) {
    throw new UsageError(
      `a grayscale image needs width × height = ${width * height} bytes, got ${data?.length ?? "none"}`,
    );
  }
}

/**
 * `gray` reduced by the whole factor `k`: each output pixel is the mean of a k×k block, so output pixel i
 * covers input pixels k·i … k·i + k − 1 and box edges scale back exactly. Partial blocks at the right and
 * bottom edges average the pixels they have.
 */
export function shrinkByFactor(gray: RawImage, k: number): RawImage {
  const width = Math.ceil(gray.width / k), height = Math.ceil(gray.height / k);
  const sums = new Uint32Array(width), counts = new Uint32Array(width);
  const data = new Uint8Array(width * height);
  for (let oy = 0; oy < height; oy++) {
    sums.fill(0);
    counts.fill(0);
    for (let y = oy * k; y < Math.min(gray.height, (oy + 1) * k); y++) {
      const row = y * gray.width;
      for (let x = 0; x < gray.width; x++) {
        const ox = (x / k) | 0;
        sums[ox] += gray.data[row + x];
        counts[ox]++;
      }
    }
    for (let ox = 0; ox < width; ox++) data[oy * width + ox] = Math.round(sums[ox] / counts[ox]);
  }
  return { data, width, height };
}

/** Detectors tried in order on each photo until one finds a face; the Haar settings are the first's. */
export function firstThatFinds(detectors: readonly FaceDetector[]): FaceDetector {
  return {
    options: detectors[0].options,
    detect(gray: RawImage): Box[] {
      for (const d of detectors) {
        const found = d.detect(gray);
        if (found.length > 0) return found;
      }
      return [];
    },
    close() {
      for (const d of detectors) d.close();
    },
  };
}
