/**
 * One name for every face detector the commands offer, and detectors tried one after another:
 *
 * - `default`: the frontal Haar cascade (the thesis's detector);
 * - `chain`: the Haar cascades default → alt2 → profile, then turned and edge-extended photos
 *   (`cascades_io.ts`), each only when the earlier found nothing;
 * - `cnn`: the project's own network (`cnn_detector.ts`), from `data/face-detector/` unless told otherwise.
 *
 * `A+B` runs B only on photos where A found no face (`cnn+chain`: the network, and the cascades where it
 * finds nothing); `A|B` runs both and adds B's faces that are not A's (`cnn|default`: the network's faces and
 * the small ones only the frontal cascade finds). `|` binds tighter than `+`.
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
import { type Box, iou, overlapOfSmaller } from "../core/box.ts";
import { UsageError } from "../core/errors.ts";
import type { RawImage } from "../core/image.ts";
import { CASCADE_NAMES } from "../data/crop.ts";
import { CHAIN_VERSION, createCascadeDetector, DEFAULT_EDGE_PAD } from "./cascades_io.ts";
import { DEFAULT_CNN_DETECTOR_DIR, loadCnnDetector } from "./cnn_detector_io.ts";
import { type FaceDetector, type FaceDetectorOptions, firstThatFinds } from "./detect.ts";
import { createFaceDetector } from "./detect_io.ts";

/** The detectors a spec may name. */
export const DETECTOR_NAMES = ["default", "chain", "cnn"] as const;

/** One of {@link DETECTOR_NAMES}. */
export type DetectorName = typeof DETECTOR_NAMES[number];

/** The help text of a `--detector` option. */
export const DETECTOR_SPEC_HELP =
  "default (frontal Haar cascade), chain (Haar cascades one after another), cnn (the trained network in " +
  "data/face-detector); A+B tries B where A found no face, A|B adds B's faces to A's";

/**
 * The stages of a spec such as `"cnn|default+chain"`, in order, each the detectors it joins:
 * `[["cnn", "default"], ["chain"]]`.
 *
 * @throws {UsageError} naming the unknown or repeated part.
 */
export function parseDetectorSpec(text: string): DetectorName[][] {
  const seen = new Set<string>();
  return text.split("+").map((stage) =>
    stage.split("|").map((p) => {
      p = p.trim();
      if (!(DETECTOR_NAMES as readonly string[]).includes(p)) {
        throw new UsageError(
          `unknown detector "${p}" in "${text}": expected ${DETECTOR_NAMES.join(", ")} joined by + or |`,
        );
      }
      if (seen.has(p)) throw new UsageError(`detector "${p}" appears twice in "${text}"`);
      seen.add(p);
      return p as DetectorName;
    })
  );
}

/** Settings of {@link openFaceDetector}. */
export interface OpenDetectorOptions {
  /** The Haar cascades' settings (scale step, neighbours, sizes). */
  haar?: Omit<FaceDetectorOptions, "cascadePath">;
  /** The network's folder (default `data/face-detector`) and score threshold (default: its metadata's). */
  cnnDir?: string;
  threshold?: number;
  /** The network's tiles per side (default `DEFAULT_TILES`) and second look (default on), see `cnnDetector`. */
  tiles?: number;
  zoom?: boolean;
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
  const stages = parseDetectorSpec(spec);
  const opened: { detector: FaceDetector; label: string }[][] = [];
  try {
    for (const stage of stages) {
      const row: { detector: FaceDetector; label: string }[] = [];
      opened.push(row);
      for (const name of stage) row.push(await openOne(name, opts));
    }
  } catch (e) {
    for (const o of opened.flat()) o.detector.close();
    throw e;
  }
  const label = opened.map((row) => row.map((o) => o.label).join("|")).join("+");
  const joined = opened.map((row) => row.length === 1 ? row[0].detector : allOf(row.map((o) => o.detector)));
  return { detector: joined.length === 1 ? joined[0] : firstThatFinds(joined), label };
}

/**
 * Every detector on each photo: the first's faces, then each later one's faces that overlap none already
 * kept (IoU ≤ 0.3 and at most half inside one), so the same face is not reported twice.
 */
export function allOf(detectors: readonly FaceDetector[]): FaceDetector {
  return {
    options: detectors[0].options,
    detect(gray: RawImage): Box[] {
      const kept: Box[] = [];
      for (const d of detectors) {
        for (const f of d.detect(gray)) {
          if (kept.every((k) => iou(k, f) <= 0.3 && overlapOfSmaller(k, f) <= 0.5)) kept.push(f);
        }
      }
      return kept;
    },
    close() {
      for (const d of detectors) d.close();
    },
  };
}

async function openOne(
  name: DetectorName,
  opts: OpenDetectorOptions,
): Promise<{ detector: FaceDetector; label: string }> {
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
      const detector = await loadCnnDetector(dir, {
        threshold: opts.threshold,
        tiles: opts.tiles,
        zoom: opts.zoom,
      });
      const bytes = await Deno.readFile(join(dir, "weights.bin"));
      const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
      const hex = Array.from(hash.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
      return {
        detector,
        label: `cnn-${hex}-t${detector.threshold}-tiles${detector.tiles}${detector.zoom ? "-zoom" : ""}`,
      };
    }
  }
}
