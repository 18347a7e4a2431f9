/**
 * {@link createFaceDetector}: a face detector whose Haar cascade is read from a file, by default the
 * frontal-face cascade shipped in `data/`. The detection itself is in `detect.ts`.
 *
 * @example
 * ```ts
 * import { createFaceDetector } from "./detect_io.ts";
 * import { readGray } from "../core/image_io.ts";
 *
 * const detector = await createFaceDetector();
 * const faces = detector.detect(await readGray("data/portraits/astronaut.png"));
 * // [{x: 177, y: 65, width: 96, height: 96}]
 * ```
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { DataError } from "../core/errors.ts";
import {
  createFaceDetectorFromCascade,
  DETECTION_DEFAULTS,
  detectorOptions,
  type FaceDetector,
  type FaceDetectorOptions,
} from "./detect.ts";

/** The frontal-face cascade shipped in `data/` (Intel License, text inside the file). */
export const DEFAULT_CASCADE_PATH: string = fileURLToPath(
  new URL("../../data/haarcascade_frontalface_default.xml", import.meta.url),
);

/** The detector defaults: the cascade in `data/`, scale factor 1.1, 5 neighbours, faces of at least 30 pixels, no maximum. */
export const DEFAULT_DETECTOR_OPTIONS: Readonly<Required<FaceDetectorOptions>> = {
  cascadePath: DEFAULT_CASCADE_PATH,
  ...DETECTION_DEFAULTS,
};

/**
 * Creates a face detector: loads OpenCV.js (once per process) and the Haar cascade.
 *
 * @throws {UsageError} for out-of-range settings.
 * @throws {DataError} when the cascade file is missing or is not a cascade OpenCV can load.
 */
export async function createFaceDetector(opts: FaceDetectorOptions = {}): Promise<FaceDetector> {
  const options = detectorOptions(opts, DEFAULT_CASCADE_PATH);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(options.cascadePath);
  } catch (e) {
    throw new DataError(`cannot read the Haar cascade: ${(e as Error).message}`, {
      file: options.cascadePath,
    });
  }
  return await createFaceDetectorFromCascade(bytes, options);
}
