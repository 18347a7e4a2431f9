import assert from "node:assert/strict";
import { UsageError } from "../lib/core/errors.ts";
import { KEYPOINT_NAMES, NUM_COORDS } from "../lib/core/constants.ts";
import type { KeypointDataset } from "../lib/data/types.ts";
import {
  barChart,
  errorDistribution,
  historyColumns,
  keypointDensity,
  keypointErrors,
  keypointScatter,
  keypointsPerFaceChart,
  learningCurves,
  meanFaceFigure,
  missingCounts,
  missingKeypointsChart,
  perKeypointRmseChart,
  PLOTLY_MIME,
} from "../lib/viz/figures.ts";
import { chromiumPath, figureHtml, FigureRenderer, hasChromium, saveFigure } from "../lib/viz/render_io.ts";
import { figureBundle, show } from "../lib/viz/jupyter.ts";

const assertEquals = (actual: unknown, expected: unknown) => assert.deepStrictEqual(actual, expected);
const assertAlmostEquals = (actual: number, expected: number, tolerance: number) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);
const assertStringIncludes = (text: string, part: string) =>
  assert.ok(text.includes(part), `expected "${text.slice(0, 200)}" to include "${part}"`);
const assertThrows = (fn: () => unknown, type: new (...args: never[]) => Error) => assert.throws(fn, type);

/** Three faces: face 0 complete, face 1 misses keypoint 14 (both coords), face 2 misses keypoints 0 and 14. */
function tinyDataset(): KeypointDataset {
  const n = 3;
  const keypoints = new Float32Array(n * NUM_COORDS);
  for (let i = 0; i < keypoints.length; i++) keypoints[i] = 10 + (i % NUM_COORDS) * 2; // x and y in 10..68
  keypoints.fill(NaN, 1 * NUM_COORDS + 28, 1 * NUM_COORDS + 30);
  keypoints.fill(NaN, 2 * NUM_COORDS + 0, 2 * NUM_COORDS + 2);
  keypoints.fill(NaN, 2 * NUM_COORDS + 28, 2 * NUM_COORDS + 30);
  const mask = keypoints.map((v) => (Number.isNaN(v) ? 0 : 1));
  const images = new Float32Array(n * 96 * 96);
  images.fill(1, 0, 96 * 96); // face 0 white, the others black: mean 1/3
  return { name: "tiny", synthetic: true, n, images, keypoints, mask: Uint8Array.from(mask) };
}

Deno.test("missingKeypointsChart: one bar per keypoint with the share of faces missing it", () => {
  const ds = tinyDataset();
  assertEquals(missingCounts(ds), [1, ...new Array(13).fill(0), 2]);
  const fig = missingKeypointsChart(ds);
  assertEquals(fig.data.length, 1);
  const bar = fig.data[0] as unknown as { type: string; x: string[]; y: number[]; text: string[] };
  assertEquals(bar.type, "bar");
  assertEquals(bar.x.length, 15);
  assertEquals(bar.x[0], "left eye center");
  assertAlmostEquals(bar.y[0], 100 / 3, 1e-9);
  assertAlmostEquals(bar.y[14], 200 / 3, 1e-9);
  assertEquals(bar.text[14], "2");
  assertStringIncludes(fig.layout.title!.text, "tiny (synthetic)");
});

Deno.test("keypointsPerFaceChart: faces counted by how many keypoints they have", () => {
  const bar = keypointsPerFaceChart(tinyDataset()).data[0] as unknown as { x: number[]; y: number[] };
  assertEquals(bar.x.length, 16);
  assertEquals(bar.y[15], 1);
  assertEquals(bar.y[14], 1);
  assertEquals(bar.y[13], 1);
});

Deno.test("keypointScatter: one trace per keypoint, missing points left out, y axis pointing down", () => {
  const fig = keypointScatter(tinyDataset());
  assertEquals(fig.data.length, 15);
  assertEquals(fig.data.map((t) => t.name), KEYPOINT_NAMES.map((k) => k.replaceAll("_", " ")));
  assertEquals((fig.data[0].x as number[]).length, 2); // face 2 misses keypoint 0
  assertEquals((fig.data[14].y as number[]).length, 1);
  assertEquals((fig.data[1].x as number[])[0], 14); // column 2: 10 + 2 · 2
  const yaxis = fig.layout.yaxis as { range: number[]; scaleanchor: string };
  assert(yaxis.range[0] > yaxis.range[1], "y axis must be reversed (image y points down)");
  assertEquals(yaxis.range, [95.5, -0.5]);
  assertEquals(yaxis.scaleanchor, "x");
  assertEquals((fig.layout.xaxis as { range: number[] }).range, [-0.5, 95.5]);
});

Deno.test("keypointScatter: samples at most maxFaces faces", () => {
  const ds = tinyDataset();
  const fig = keypointScatter(ds, { maxFaces: 1 });
  assertEquals((fig.data[5].x as number[]).length, 1);
  assertStringIncludes(fig.layout.title!.text, "1 faces");
});

Deno.test("keypointDensity: all present points in one 2-D histogram over the frame, y down", () => {
  const fig = keypointDensity(tinyDataset(), { bin: 4 });
  assertEquals(fig.data[0].type, "histogram2d");
  assertEquals((fig.data[0].x as number[]).length, 45 - 3);
  assertEquals((fig.data[0].xbins as { size: number }).size, 4);
  const yaxis = fig.layout.yaxis as { range: number[] };
  assert(yaxis.range[0] > yaxis.range[1]);
});

Deno.test("meanFaceFigure: 96×96 mean image and mean keypoints over present values", () => {
  const fig = meanFaceFigure(tinyDataset());
  const z = fig.data[0].z as number[][];
  assertEquals(z.length, 96);
  assertEquals(z[0].length, 96);
  assertAlmostEquals(z[50][50], 0.333, 1e-3);
  assertEquals((fig.data[1].x as number[]).length, 15);
  assertEquals((fig.data[1].x as number[])[0], 10); // mean over the two faces that have it
  assert((fig.layout.yaxis as { range: number[] }).range[0] > 0);
});

Deno.test("historyColumns: per-epoch records and per-metric arrays give the same columns", () => {
  const rows = historyColumns([{ epoch: 1, loss: 2, val_rmse_px: 5 }, {
    epoch: 2,
    loss: 1,
    val_rmse_px: NaN,
  }]);
  assertEquals(rows.epochs, [1, 2]);
  assertEquals(Object.keys(rows.columns).sort(), ["loss", "val_rmse_px"]);
  const arrays = historyColumns({ loss: [2, 1], val_loss: [3, 2] });
  assertEquals(arrays.epochs, [1, 2]);
  assertEquals(arrays.columns.val_loss, [3, 2]);
});

Deno.test("learningCurves: losses on a log axis above the other metrics, validation dashed", () => {
  const fig = learningCurves([
    { epoch: 1, loss: 0.1, train_rmse_px: 5, val_rmse_px: 6 },
    { epoch: 2, loss: 0.05, train_rmse_px: 4, val_rmse_px: NaN },
  ]);
  assertEquals(fig.data.map((t) => t.name), ["loss", "train_rmse_px", "val_rmse_px"]);
  assertEquals(fig.data[0].yaxis, "y");
  assertEquals(fig.data[1].yaxis, "y2");
  assertEquals((fig.data[2].y as (number | null)[])[1], null); // NaN becomes a gap
  assertEquals((fig.data[2].line as { dash: string }).dash, "dash");
  assertEquals((fig.data[1].line as { dash: string }).dash, "solid");
  assertEquals((fig.layout.yaxis as { type: string }).type, "log");
  assertEquals((fig.layout.xaxis as { anchor: string }).anchor, "y2");
  assertThrows(() => learningCurves([{ epoch: 1 }]), UsageError);
});

Deno.test("perKeypointRmseChart: grouped bars per model from arrays or records", () => {
  const record = Object.fromEntries(KEYPOINT_NAMES.map((k, i) => [k, i]));
  const fig = perKeypointRmseChart([
    { name: "lenet", per_keypoint_rmse_px: record },
    { name: "resnet", per_keypoint_rmse_px: new Array(15).fill(1.5) },
  ]);
  assertEquals(fig.layout.barmode, "group");
  assertEquals(fig.data.map((t) => t.name), ["lenet", "resnet"]);
  assertEquals((fig.data[0].y as number[])[3], 3);
  assertEquals((fig.data[1].y as number[])[3], 1.5);
  assertThrows(() => perKeypointRmseChart([{ name: "bad", per_keypoint_rmse_px: [1, 2] }]), UsageError);
});

Deno.test("errorDistribution: histograms or boxes, NaN left out", () => {
  const models = [{ name: "a", errors: [1, 2, NaN, 3] }, { name: "b", errors: new Float32Array([2, 2]) }];
  const hist = errorDistribution(models);
  assertEquals(hist.data.map((t) => t.type), ["histogram", "histogram"]);
  assertEquals(hist.data[0].x, [1, 2, 3]);
  const box = errorDistribution(models, { kind: "box" });
  assertEquals(box.data[1].type, "box");
  assertEquals(box.data[1].y, [2, 2]);
});

Deno.test("barChart and keypointErrors", () => {
  const fig = barChart(["lenet", "resnet"], [243, 25], { title: "speed", yTitle: "img/s" });
  assertEquals(fig.data[0].y, [243, 25]);
  assertEquals(fig.layout.title!.text, "speed");
  assertThrows(() => barChart(["a"], [1, 2]), UsageError);
  const truth = new Float32Array(2 * NUM_COORDS).fill(10);
  truth[NUM_COORDS] = NaN;
  truth[NUM_COORDS + 1] = NaN;
  const pred = new Float32Array(2 * NUM_COORDS).fill(10);
  pred[0] = 13;
  pred[1] = 14; // keypoint 0 of face 0 off by (3, 4): 5 px
  const { perKeypoint, perFace } = keypointErrors(pred, truth, 2);
  assertEquals(perKeypoint[0], 5);
  assert(Number.isNaN(perKeypoint[15]));
  assertAlmostEquals(perFace[0], 5 / 15, 1e-6);
  assertEquals(perFace[1], 0);
});

Deno.test("figureBundle/show: plotly JSON, PNG when rendered, else a small HTML note", () => {
  const fig = barChart(["a"], [1], { title: "T" });
  const bare = figureBundle(fig, { html: "outputs/figures/t.html" });
  assertEquals(bare[PLOTLY_MIME], fig);
  assertStringIncludes(bare["text/html"] as string, "outputs/figures/t.html");
  assert((bare["text/html"] as string).length < 500, "the HTML fallback must stay small");
  const withPng = figureBundle(fig, { png: new Uint8Array([137, 80, 78, 71]) });
  assertEquals(withPng["image/png"], "iVBORw==");
  assertEquals(withPng["text/html"], undefined);
  const displayable = show(fig) as unknown as Record<symbol, () => Record<string, unknown>>;
  assertEquals(displayable[Symbol.for("Jupyter.display")]()[PLOTLY_MIME], fig);
});

Deno.test("figureHtml: loads the local bundle and escapes </script> in the figure", () => {
  const html = figureHtml(barChart(["</script><b>"], [1], { title: "x" }));
  assertStringIncludes(html, '<script src="plotly.js"></script>');
  assert(!html.includes("</script><b>"));
  assertStringIncludes(
    figureHtml(barChart(["a"], [1]), { inlineBundle: "/*bundle*/" }),
    "<script>/*bundle*/</script>",
  );
});

Deno.test({
  name: "saveFigure: HTML + a non-blank PNG rendered by headless Chromium",
  ignore: !hasChromium() && (console.warn(
    `skipped PNG render test: ${chromiumPath()} not installed ` +
      "(apt-get install -y chromium)",
  ),
    true),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "plot_test_" });
    const renderer = await FigureRenderer.create();
    try {
      const fig = missingKeypointsChart(tinyDataset());
      const saved = await saveFigure(fig, `${dir}/missing`, { renderer, scale: 1 });
      const png = await Deno.readFile(saved.png);
      assertEquals([...png.subarray(0, 4)], [137, 80, 78, 71]); // PNG signature
      const view = new DataView(png.buffer, png.byteOffset);
      assertEquals([view.getUint32(16), view.getUint32(20)], [900, 520]); // IHDR width, height
      assert(png.length > 10_000, `PNG of ${png.length} bytes looks blank`);
      // A blank canvas compresses to almost nothing; the same size with no data must be much smaller.
      const blank = await renderer.png({ data: [], layout: { width: 900, height: 520 } });
      assert(png.length > 3 * blank.length, `figure PNG ${png.length} B vs blank ${blank.length} B`);
      assertStringIncludes(await Deno.readTextFile(saved.html), "Missing keypoints");
      assert((await Deno.stat(`${dir}/plotly.js`)).size > 1_000_000, "plotly bundle copied next to the HTML");
    } finally {
      await renderer.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
