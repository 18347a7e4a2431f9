/**
 * One name for every face detector the commands offer, and detectors tried one after another:
 *
 * - `default`: the frontal Haar cascade (the thesis's detector);
 * - `chain`: the Haar cascades default → alt2 → profile, then turned and edge-extended photos
 *   (`cascades_io.ts`), each only when the earlier found nothing;
 * - `cnn`: the project's own network (`cnn_detector.ts`), from `data/face-detector/` unless told otherwise.
 *
 * `A+B` runs B only on photos where A found no face (`cnn+chain`: the network, and the cascades where it
 * finds nothing).
 *
 * @example
 * ```ts
 * import { openFaceDetector } from "./detectors_io.ts";
 * import { readGray } from "../core/image_io.ts";
 * const { detector, label } = await openFaceDetector("cnn+chain");
 * const faces = detector.detect(await readGray("data/portraits/astronaut.png"));
 * detector.close();
 * ```
 *
 * @module
 */
import { join } from "node:path";
import type { Box } from "../core/box.ts";
import { UsageError } from "../core/errors.ts";
import type { RawImage } from "../core/image.ts";
import { CASCADE_NAMES } from "../data/crop.ts";
import { CHAIN_VERSION, createCascadeDetector, DEFAULT_EDGE_PAD } from "./cascades_io.ts";
import { DEFAULT_CNN_DETECTOR_DIR, loadCnnDetector } from "./cnn_detector_io.ts";
import type { FaceDetector, FaceDetectorOptions } from "./detect.ts";
import { createFaceDetector } from "./detect_io.ts";

/** The detectors a spec may name. */
export const DETECTOR_NAMES = ["default", "chain", "cnn"] as const;

/** One of {@link DETECTOR_NAMES}. */
export type DetectorName = typeof DETECTOR_NAMES[number];

/** The help text of a `--detector` option. */
export const DETECTOR_SPEC_HELP =
  "default (frontal Haar cascade), chain (Haar cascades one after another), cnn (the trained network in " +
  "data/face-detector); A+B tries B where A found no face";

/**
 * The detectors of a spec such as `"cnn+chain"`, in order.
 *
 * @throws {UsageError} naming the unknown or repeated part.
 */
export function parseDetectorSpec(text: string): DetectorName[] {
  const parts = text.split("+").map((p) => p.trim());
  const seen = new Set<string>();
  for (const p of parts) {
    if (!(DETECTOR_NAMES as readonly string[]).includes(p)) {
      throw new UsageError(`unknown detector "${p}" in "${text}": expected ${DETECTOR_NAMES.join(", ")} joined by +`);
    }
    if (seen.has(p)) throw new UsageError(`detector "${p}" appears twice in "${text}"`);
    seen.add(p);
  }
  return parts as DetectorName[];
}

/** Settings of {@link openFaceDetector}. */
export interface OpenDetectorOptions {
  /** The Haar cascades' settings (scale step, neighbours, sizes). */
  haar?: Omit<FaceDetectorOptions, "cascadePath">;
  /** The network's folder (default `data/face-detector`) and score threshold (default: its metadata's). */
  cnnDir?: string;
  threshold?: number;
}

/**
 * Opens the detectors of `spec` and joins them: each later one runs only where the earlier found nothing.
 * `label` names the combination and its settings for detection caches (the network's part carries a hash
 * of its weights, so a retrained network is not answered from old entries).
 *
 * @throws {UsageError} for a bad spec or settings; `DataError` for a missing or damaged detector file.
 */
export async function openFaceDetector(
  spec: string,
  opts: OpenDetectorOptions = {},
): Promise<{ detector: FaceDetector; label: string }> {
  const names = parseDetectorSpec(spec);
  const opened: { detector: FaceDetector; label: string }[] = [];
  try {
    for (const name of names) opened.push(await openOne(name, opts));
  } catch (e) {
    for (const o of opened) o.detector.close();
    throw e;
  }
  const label = opened.map((o) => o.label).join("+");
  if (opened.length === 1) return { detector: opened[0].detector, label };
  return { detector: firstThatFinds(opened.map((o) => o.detector)), label };
}

async function openOne(name: DetectorName, opts: OpenDetectorOptions): Promise<{ detector: FaceDetector; label: string }> {
  switch (name) {
    case "default":
      return { detector: await createFaceDetector(opts.haar), label: "default" };
    case "chain":
      return {
        detector: await createCascadeDetector({ ...opts.haar, cascades: CASCADE_NAMES }),
        label: `${CASCADE_NAMES.join("-")}-rot-25+25-pad${DEFAULT_EDGE_PAD}-v${CHAIN_VERSION}`,
      };
    case "cnn": {
      const dir = opts.cnnDir ?? DEFAULT_CNN_DETECTOR_DIR;
      const detector = await loadCnnDetector(dir, { threshold: opts.threshold });
      const bytes = await Deno.readFile(join(dir, "weights.bin"));
      const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
      const hex = Array.from(hash.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
      return { detector, label: `cnn-${hex}-t${detector.threshold}` };
    }
  }
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
