/**
 * The live camera page end to end: `cli/serve.ts` serves it, Debian's headless Chromium (driven by
 * playwright-core) opens it with a fake camera playing a Y4M made from real frames of one person in
 * `../shared/data/ytf68/training/`, and the page must report faces with 15 keypoints on its frames, eyes
 * drawn above the nose and the mouth. The model is `outputs/models/default` when it exists, else a
 * "mean face" model (a dense layer whose bias is the mean training face), which checks the whole pipeline
 * (detection, crop, model, mapping back, drawing) without a trained model.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { chromium } from "playwright-core";
import { bundleApp, startServer } from "../cli/serve.ts";
import { makeMetadata, normalise, saveKeypointModel } from "../lib/models/mod.ts";
import { meanFaceInCrop } from "../lib/face/track.ts";
import { framesFromImages, writeY4m } from "./_video_fixtures.ts";

const CHROMIUM = "/usr/bin/chromium";
const HAVE_CHROMIUM = await Deno.stat(CHROMIUM).then(() => true, () => false);
const YTF = new URL("../../shared/data/ytf68/training/", import.meta.url).pathname;
const HAVE_YTF = await Deno.stat(YTF).then(() => true, () => false);
const DEFAULT_MODEL = new URL("../outputs/models/default/", import.meta.url).pathname;
const PERSON = "Ethan_Hawke";

interface PageState {
  ready: boolean;
  backend: string;
  frames: number;
  fps: number;
  msPerFrame: number;
  lastFaces: { box: number[]; keypoints: Record<string, [number, number]> }[];
  keypointCounts: number[][];
  error?: string;
}

/** A model that outputs the mean training face whatever the input (zero kernel, bias = the mean face). */
async function saveMeanFaceModel(dir: string): Promise<void> {
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [96, 96, 1] }),
      tf.layers.dense({ units: 30, kernelInitializer: "zeros", biasInitializer: "zeros" }),
    ],
  });
  const [kernel] = model.layers[1].getWeights();
  model.layers[1].setWeights([kernel, tf.tensor1d(normalise(meanFaceInCrop()))]);
  await saveKeypointModel(dir, model, makeMetadata("mean-face", model));
  model.dispose();
}

Deno.test("serve: the page bundles with nothing left to import (the library's pure modules only)", async () => {
  const bundle = await bundleApp();
  assert.ok(bundle.length > 1_000_000, "the bundle holds tfjs and OpenCV.js");
  assert.deepEqual(bundle.match(/^import\s.*from\s*"[^"]+";/gm) ?? [], []);
  assert.doesNotMatch(bundle, /\bfrom\s*"(sharp|node:[\w/]+)"/);
});

Deno.test("serve: a missing model folder is a clear error", async () => {
  await assert.rejects(
    () => startServer({ port: 0, model: "/nonexistent/model" }),
    /no keypoint model in \/nonexistent/,
  );
});

Deno.test({
  name: "serve e2e: headless Chromium with a fake camera of one person shows faces with 15 keypoints",
  ignore: !HAVE_CHROMIUM || !HAVE_YTF,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "fkd-e2e-" });
    let server: Awaited<ReturnType<typeof startServer>> | undefined;
    // deno-lint-ignore no-explicit-any
    let browser: any;
    try {
      const files = [...Deno.readDirSync(YTF)].map((e) => e.name).filter((n) => n.startsWith(`${PERSON}_`))
        .sort();
      const frames = await framesFromImages(files.map((f) => join(YTF, f)), {
        width: 320,
        height: 240,
        repeat: 2,
      });
      const y4m = join(dir, "camera.y4m");
      await writeY4m(y4m, frames, { width: 320, height: 240, fps: 10 });
      const haveDefault = await Deno.stat(join(DEFAULT_MODEL, "model.json")).then(() => true, () => false);
      const model = haveDefault ? DEFAULT_MODEL : join(dir, "model");
      if (!haveDefault) await saveMeanFaceModel(model);
      server = await startServer({ port: 0, model });
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          ..."--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update"
            .split(" "),
          "--disable-sync",
          "--no-first-run",
          "--use-fake-device-for-media-stream",
          "--use-fake-ui-for-media-stream",
          `--use-file-for-fake-video-capture=${y4m}`,
        ],
      });
      const page = await browser.newPage({ viewport: { width: 420, height: 320 } });
      const errors: string[] = [];
      page.on("pageerror", (e: Error) => errors.push(e.message));
      // Bundle first, as `deno task serve` does, so that a slow bundle on a busy machine is not a page timeout.
      await fetch(new URL("/app.js", server.url)).then((r) => r.arrayBuffer());
      await page.goto(server.url, { timeout: 120_000 }); // the 13 MB bundle loads slowly on a busy machine
      // Wait for 20 processed frames (the fake camera runs at 10 frames/s), at most 60 s.
      let state: PageState | undefined;
      const faces: PageState["lastFaces"] = [];
      for (const t0 = Date.now(); Date.now() - t0 < 60_000;) {
        state = await page.evaluate(() => (globalThis as unknown as { __fkd: PageState }).__fkd);
        assert.equal(state!.error, undefined, `page error: ${state!.error}`);
        if (state!.lastFaces.length > 0) faces.push(state!.lastFaces[0]);
        if (state!.frames >= 20) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.deepEqual(errors, []);
      assert.ok(state && state.frames >= 20, `only ${state?.frames} frames processed in 60 s`);
      assert.ok(["webgpu", "wasm", "webgl"].includes(state.backend), state.backend);
      const counts = state.keypointCounts;
      assert.ok(counts.filter((c) => c.length >= 1).length >= counts.length * 0.8, JSON.stringify(counts));
      assert.ok(counts.every((c) => c.every((n) => n === 15)), JSON.stringify(counts));
      // Eyes above the nose and the mouth (image y grows downwards), on the median of the sampled faces.
      const median = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
      const y = (name: string) => median(faces.map((f) => f.keypoints[name][1]));
      const eyes = Math.max(y("left_eye_center"), y("right_eye_center"));
      assert.ok(faces.length >= 5);
      assert.ok(eyes < y("nose_tip"), `eyes at ${eyes}, nose at ${y("nose_tip")}`);
      assert.ok(
        eyes < y("mouth_center_top_lip") && eyes < y("mouth_left_corner") && eyes < y("mouth_right_corner"),
      );
      // The drawing is on the page: one SVG circle per keypoint.
      assert.equal(await page.locator("#overlay circle").count() % 15, 0);
      assert.ok(await page.locator("#overlay circle").count() >= 15);
      const shot = join(dir, "page.png");
      await page.screenshot({ path: shot });
      assert.ok((await Deno.stat(shot)).size > 1000);
      console.log(
        `backend ${state.backend}, ${state.fps.toFixed(1)} frames/s, ${
          state.msPerFrame.toFixed(1)
        } ms/frame, ` +
          `model ${haveDefault ? "default" : "mean-face"}`,
      );
    } finally {
      await browser?.close();
      await server?.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
