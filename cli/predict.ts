/**
 * `deno task predict [--model DIR] [--out DIR] [--json] FILES_OR_FOLDERS...`: finds the faces in photos,
 * predicts their 15 keypoints and writes annotated PNGs (box, keypoints) into `--out`
 * (default `outputs/predictions/`). A folder stands for the image files directly inside it.
 *
 * With `--json`, one JSON line per input file on stdout:
 * `{"file", "width", "height", "faces": [{"box": [x, y, w, h], "keypoints": {"left_eye_center": [x, y], …}}]}`
 * in original-image pixels (rounded to 0.01 px; the centre of the top-left pixel is (0, 0)); `"faces": []`
 * when no face is found; `{"file", "error"}` for a file that cannot be read.
 *
 * Video files (MP4, WebM, AVI, MOV, MKV, Y4M) are decoded with FFmpeg: an annotated video goes into `--out`
 * (same size and frame rate) and, with `--json`, one line per processed frame:
 * `{"file", "frame", "time", "faces": [...]}`. `--every-n`, `--detect-every` and `--smoothing` trade
 * speed against steadiness (see lib/video/ffmpeg_io.ts).
 *
 * Exit codes: 0 all inputs done, 1 some inputs could not be read (the others are still processed),
 * 2 bad usage or no model.
 *
 * @module
 */
import { BACKEND_ARG } from "./backend_arg.ts";
import { faceJson } from "../lib/face/types.ts";
import { DEFAULT_MODEL_DIR } from "../lib/models/folder_io.ts";
import { basename, extname, join } from "node:path";
import { parseArgs, runCli, usage } from "./args.ts";
import { checkWritableFolder } from "../lib/core/atomic_io.ts";
import { initBackend } from "../lib/backend_io.ts";
import { DEFAULT_DETECTOR_OPTIONS } from "../lib/face/detect_io.ts";
import { DataError, UsageError } from "../lib/core/errors.ts";
import { loadKeypointModel, resolveModelDir } from "../lib/models/mod.ts";
import {
  annotateResult,
  predictImageFile,
  type PredictionResult,
  scaleTtaScales,
} from "../lib/face/predict_io.ts";
import { openFaceDetector } from "../lib/face/detectors_io.ts";
import { inferenceArgs } from "./inference_args.ts";
import { DEFAULT_CROP_MARGIN } from "../lib/data/crop.ts";
import { isVideoFile, VIDEO_EXTENSIONS } from "../lib/video/ffmpeg_io.ts";
import { frameJson, predictVideoFile } from "../lib/video/pipeline_io.ts";

/** File extensions a folder argument expands to (the formats sharp reads). */
export const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".gif", ".avif"] as const;

const SPEC = {
  model: {
    type: "string",
    default: DEFAULT_MODEL_DIR,
    description: "model folder (as written by deno task train)",
  },
  out: { type: "string", default: "outputs/predictions", description: "folder for the annotated PNGs" },
  json: { type: "boolean", description: "print one JSON line per input file on stdout" },
  images: { type: "boolean", default: true, description: "write annotated PNGs (--no-images: do not)" },
  labels: { type: "boolean", description: "write each keypoint's name beside it" },
  margin: {
    type: "number",
    min: 0,
    max: 2,
    default: DEFAULT_CROP_MARGIN,
    description: "crop margin, as in training",
  },
  "scale-factor": {
    type: "number",
    min: 1.01,
    max: 2,
    default: DEFAULT_DETECTOR_OPTIONS.scaleFactor,
    description: "Haar detector scale step (the thesis used 1.3)",
  },
  "min-neighbors": {
    type: "number",
    integer: true,
    min: 0,
    default: DEFAULT_DETECTOR_OPTIONS.minNeighbors,
    description: "Haar detector neighbours",
  },
  "min-size": {
    type: "number",
    integer: true,
    min: 0,
    default: DEFAULT_DETECTOR_OPTIONS.minSize,
    description: "smallest face side in pixels",
  },
  ...inferenceArgs(),
  backend: BACKEND_ARG,
  "every-n": {
    type: "number",
    integer: true,
    min: 1,
    default: 1,
    description: "video: process every n-th frame",
  },
  "detect-every": {
    type: "number",
    integer: true,
    min: 1,
    default: 1,
    description: "video: run the detector every k processed frames, track faces in between",
  },
  smoothing: {
    type: "string",
    default: "none",
    description: "video: keypoint smoothing, none | ema[:A] | one-euro[:MINCUTOFF,BETA]",
  },
} as const;

/**
 * The files an input stands for: itself if it is a file (or does not exist: it fails later with its own
 * error line), else the image files directly inside the folder, sorted by name.
 */
export async function expandInputs(inputs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    let isDir = false;
    try {
      isDir = (await Deno.stat(input)).isDirectory;
    } catch {
      // A missing path is reported as that file's error.
    }
    if (!isDir) {
      files.push(input);
      continue;
    }
    const inside: string[] = [];
    for await (const e of Deno.readDir(input)) {
      const ext = extname(e.name).toLowerCase();
      if (e.isFile && [...IMAGE_EXTENSIONS, ...VIDEO_EXTENSIONS].includes(ext as never)) {
        inside.push(join(input, e.name));
      }
    }
    files.push(...inside.sort());
  }
  return files;
}

/** The result as printed by `--json`: coordinates rounded to 0.01 px. */
export function resultJson(result: PredictionResult): string {
  return JSON.stringify({ ...result, faces: result.faces.map(faceJson) });
}

/** `<out>/<stem><ext>`, with `-2`, `-3`, … where two inputs share a stem. */
function outputPath(out: string, file: string, used: Set<string>, ext = ".png"): string {
  const stem = basename(file, extname(file));
  let name = `${stem}${ext}`;
  for (let k = 2; used.has(name); k++) name = `${stem}-${k}${ext}`;
  used.add(name);
  return join(out, name);
}

async function main(): Promise<void> {
  const args = parseArgs(Deno.args, SPEC, { positionals: true });
  const inputs = args._;
  if (args.help) {
    const summary = "Finds faces in photos and draws their predicted keypoints.";
    console.log(usage("deno task predict", summary, SPEC, "FILES_OR_FOLDERS..."));
    return;
  }
  if (inputs.length === 0) throw new UsageError("no input files or folders (see --help)");
  await checkModelFolder(args.model);
  if (args.images) await checkWritableFolder(args.out); // a read-only --out fails once, not per file
  await initBackend({ backend: args.backend });
  const predictor = await loadKeypointModel(args.model, { convention: args.convention });
  const detectorOptions = {
    scaleFactor: args["scale-factor"],
    minNeighbors: args["min-neighbors"],
    minSize: args["min-size"],
  };
  const { detector } = await openFaceDetector(args.detector, {
    haar: detectorOptions,
    cnnDir: args["cnn-detector"],
    threshold: args["cnn-threshold"],
    tiles: args["cnn-tiles"],
  });
  const shot = {
    margin: args.margin,
    refine: args.refine,
    flip: args.flip,
    scales: scaleTtaScales(args["scale-tta"]),
  };
  const used = new Set<string>();
  let failed = 0;
  // Any failure on one file (bad data, or an engine error on it) is reported and the next file goes on.
  const report = (file: string, e: unknown) => {
    failed++;
    const message = e instanceof Error ? e.message : String(e);
    // A DataError's message starts with the file name already; the JSON line has it in "file".
    const error = message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message;
    if (args.json) console.log(JSON.stringify({ file, error }));
    else console.error(`error: ${file}: ${error}`);
  };
  const files: string[] = [];
  let inputCount = 0;
  for (const input of inputs) {
    const found = await expandInputs([input]);
    files.push(...found);
    inputCount += Math.max(1, found.length);
    if (found.length === 0) {
      const kinds = [...IMAGE_EXTENSIONS, ...VIDEO_EXTENSIONS].join(" ");
      report(input, new DataError(`no image or video files in this folder (looked for ${kinds})`));
    }
  }
  for (const file of files) {
    if (isVideoFile(file)) {
      try {
        const s = await predictVideoFile(file, detector, predictor, {
          // The writer picks the container for its encoder (MP4 for H.264).
          out: args.images ? outputPath(args.out, file, used, ".mp4") : undefined,
          everyN: args["every-n"],
          detectEvery: args["detect-every"],
          smoothing: args.smoothing,
          margin: args.margin,
          annotate: { labels: args.labels },
          progress: true,
          onFrame: args.json ? (r) => console.log(frameJson(r)) : undefined,
        });
        if (s.failed > 0) failed++;
        console.error(
          `${file}: ${s.frames} frames (${s.failed} failed), ${s.framesPerSecond.toFixed(1)} frames/s` +
            (s.output ? ` → ${s.output}` : ""),
        );
      } catch (e) {
        report(file, e);
      }
      continue;
    }
    let result: PredictionResult;
    let written = "";
    try {
      result = await predictImageFile(file, detector, predictor, shot);
      if (args.images) {
        written = outputPath(args.out, file, used);
        await annotateResult(result, written, { labels: args.labels });
      }
    } catch (e) {
      report(file, e);
      continue;
    }
    if (args.json) console.log(resultJson(result));
    else {
      const n = result.faces.length;
      console.log(`${file}: ${n} face${n === 1 ? "" : "s"}${written ? ` → ${written}` : ""}`);
    }
  }
  detector.close();
  predictor.model.dispose();
  if (failed > 0) {
    console.error(
      `${failed} of ${inputCount} input${inputCount === 1 ? "" : "s"} could not be read`,
    );
    Deno.exit(1);
  }
}

/** Fails with a clear message (and how to get a model) when `dir` holds no model. */
async function checkModelFolder(dir: string): Promise<void> {
  try {
    await resolveModelDir(dir);
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    const hint = dir === DEFAULT_MODEL_DIR
      ? "the bundled model is missing; train one with\n  deno task train --model lenet " +
        `--data ../shared/data/ytf68:training --out ${DEFAULT_MODEL_DIR}\nor pass --model DIR`
      : "pass a folder written by deno task train";
    throw new UsageError(`no keypoint model folder ${dir}: ${hint}`);
  }
}

if (import.meta.main) await runCli(main);
