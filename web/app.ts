/// <reference lib="dom" />
/**
 * The live camera page: opens the webcam, finds faces with the project's CNN detector served at `/detector/`
 * (`lib/face/cnn_detector.ts`), and where it finds none with OpenCV.js's frontal cascade (`lib/face/detect.ts`),
 * predicts their keypoints with the model served at `/model/` (tfjs; WebGPU, else WASM, else WebGL), follows
 * and smooths them with `lib/face/track.ts` / `lib/face/smoothing.ts`, and draws them with `lib/viz/annotate.ts`'s SVG
 * overlay. `cli/serve.ts` bundles this file for the browser on request.
 *
 * Query options: `?detectEvery=K` (default 5; 1 = detect on every frame), `?smoothing=none|ema[:A]|
 * one-euro[:MINCUTOFF,BETA]` (default one-euro), `?backend=webgpu|wasm|webgl` (force one), `?detector=haar`
 * (the frontal cascade alone, as the thesis).
 *
 * For tests, `window.__fkd` holds `{ready, backend, frames, fps, lastFaces, error}`.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";
import { annotationSvg } from "../lib/viz/annotate.ts";
import { enlargeToFace } from "../lib/data/crop.ts";
import { createFaceDetectorFromCascade, type FaceDetector, firstThatFinds } from "../lib/face/detect.ts";
import { cnnDetector } from "../lib/face/cnn_detector.ts";
import { type RawImage } from "../lib/core/image.ts";
import { modelPredictor } from "../lib/models/keypoint_model.ts";
import { conventionOffsets } from "../lib/models/calibration.ts";
import { IMAGE_SIZE } from "../lib/core/constants.ts";
import { parseSmoothing } from "../lib/face/smoothing.ts";
import { FaceTracker, type TrackedFace } from "../lib/face/track.ts";
import { rgbToGrayBytes, shrinkCrop } from "./frame.ts";

/** What the page exposes to tests and the console. */
interface PageState {
  ready: boolean;
  backend: string;
  frames: number;
  fps: number;
  /** Milliseconds of work per frame (gray, detect or follow, predict, draw), mean of the last 30. */
  msPerFrame: number;
  /** Whether the page is cross-origin isolated (tfjs's multi-threaded WASM needs it). */
  isolated: boolean;
  lastFaces: TrackedFace[];
  /** Keypoint counts of the faces on each processed frame, most recent last (at most 100 frames). */
  keypointCounts: number[][];
  error?: string;
}

const state: PageState = {
  ready: false,
  backend: "",
  frames: 0,
  fps: 0,
  msPerFrame: 0,
  isolated: globalThis.crossOriginIsolated ?? false,
  lastFaces: [],
  keypointCounts: [],
};
(globalThis as unknown as { __fkd: PageState }).__fkd = state;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (text: string) => $("status").textContent = text;

/** The first backend that initialises, in the order webgpu → wasm → webgl (or the one asked for). */
async function pickBackend(asked: string | null): Promise<string> {
  setWasmPaths("/vendor/tfjs-wasm/");
  for (const name of asked ? [asked] : ["webgpu", "wasm", "webgl"]) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return tf.getBackend();
      }
    } catch {
      // try the next one
    }
  }
  throw new Error(`no tfjs backend initialised (tried ${asked ?? "webgpu, wasm, webgl"})`);
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  status("loading tfjs…");
  state.backend = await pickBackend(params.get("backend"));
  $("backend").textContent = state.backend;
  status("loading the model…");
  const model = await tf.loadLayersModel("/model/model.json");
  const meta = await fetch("/model/metadata.json").then((r) => r.ok ? r.json() : { model: "model" });
  // The model's annotation convention (deno task calibrate), or ?convention=NAME / none.
  const offsets = conventionOffsets(meta.calibration, params.get("convention") ?? undefined);
  const predictor = modelPredictor(model, String(meta.model), { offsets });
  status("loading OpenCV…");
  const res = await fetch("/data/haarcascade_frontalface_default.xml");
  if (!res.ok) throw new Error(`GET /data/haarcascade_frontalface_default.xml: ${res.status}`);
  const haar = await createFaceDetectorFromCascade(new Uint8Array(await res.arrayBuffer()));
  let detector: FaceDetector = haar;
  if (params.get("detector") !== "haar") {
    status("loading the face detector…");
    const net = await tf.loadLayersModel("/detector/model.json");
    const { threshold } = await fetch("/detector/metadata.json").then((r) => r.json());
    detector = firstThatFinds([cnnDetector(net, { threshold }), haar]);
  }
  status("opening the camera…");
  const video = $<HTMLVideoElement>("video");
  video.srcObject = await navigator.mediaDevices.getUserMedia({
    video: { width: 640, height: 480 },
    audio: false,
  });
  await video.play();
  const width = video.videoWidth, height = video.videoHeight;
  const canvas = document.createElement("canvas");
  canvas.width = width, canvas.height = height;
  const ctx = canvas.getContext("2d", { willReadFrequently: true })!;
  const overlay = $("overlay");
  overlay.style.width = `${width}px`, overlay.style.height = `${height}px`;

  const tracker = new FaceTracker<RawImage>({
    detect: (gray) => detector.detect(gray),
    // Boxes larger than 96 are shrunk here (the library uses sharp); smaller ones by the library itself.
    crop: (gray, box) => box.size > IMAGE_SIZE ? shrinkCrop(gray, box) : enlargeToFace(gray, box),
    predictor,
  }, {
    detectEvery: Number(params.get("detectEvery") ?? 5),
    smoothing: parseSmoothing(params.get("smoothing") ?? "one-euro"),
  });
  state.ready = true;
  status("running");
  const times: number[] = [], work: number[] = [];
  // Each camera frame once: wait for the next one (requestVideoFrameCallback where the browser has it).
  const nextFrame = () =>
    new Promise<void>((r) =>
      "requestVideoFrameCallback" in video
        ? video.requestVideoFrameCallback(() => r())
        : requestAnimationFrame(() => r())
    );
  while (true) {
    const t0 = performance.now();
    ctx.drawImage(video, 0, 0, width, height);
    const rgba = ctx.getImageData(0, 0, width, height).data;
    const gray = { data: rgbToGrayBytes(rgba, width, height, 4), width, height };
    const { faces } = await tracker.process(gray, performance.now() / 1000, width, height);
    overlay.innerHTML = annotationSvg(width, height, faces);
    state.frames++;
    state.lastFaces = faces;
    state.keypointCounts = [
      ...state.keypointCounts.slice(-99),
      faces.map((f) => Object.keys(f.keypoints).length),
    ];
    const t1 = performance.now();
    times.push(t1), work.push(t1 - t0);
    if (times.length > 30) times.shift(), work.shift();
    state.fps = times.length > 1 ? (times.length - 1) / ((times.at(-1)! - times[0]) / 1000) : 0;
    state.msPerFrame = work.reduce((a, b) => a + b, 0) / work.length;
    $("fps").textContent = state.fps.toFixed(1);
    $("ms").textContent = state.msPerFrame.toFixed(1);
    $("faces").textContent = String(faces.length);
    await nextFrame();
  }
}

main().catch((e) => {
  state.error = e instanceof Error ? e.message : String(e);
  status(`error: ${state.error}`);
  console.error(e);
});
