/**
 * Plotly figures for the notebooks and reports: builders that return plain figure JSON (`{data, layout}`),
 * a display bundle for the Deno Jupyter kernel, and {@link saveFigure}, which writes each figure as
 * interactive HTML and as a PNG rendered from the same figure by headless Chromium.
 *
 * Images are 96×96 with y pointing down (Kaggle convention), so every figure over the face frame has a
 * reversed y axis and equal x/y scale.
 *
 * @example
 * ```ts
 * import { missingKeypointsChart, saveFigure } from "./plot.ts";
 * const fig = missingKeypointsChart(dataset);
 * await saveFigure(fig, "outputs/figures/missing"); // missing.html + missing.png
 * ```
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { IMAGE_SIZE, KEYPOINT_NAMES, NUM_COORDS, NUM_KEYPOINTS } from "./constants.ts";
import type { KeypointDataset } from "./data/types.ts";
import { Rng } from "./rng.ts";
import { writeFileAtomic } from "./atomic.ts";

/** One plotly trace (`{type: "bar", x, y, …}`); see plotly.js's reference for the fields. */
export type Trace = { type: string; [key: string]: unknown };

/** A plotly figure as plain JSON: what `Plotly.newPlot(div, data, layout)` takes. */
export interface Figure {
  data: Trace[];
  layout: Record<string, unknown> & { title?: { text: string } };
}

/** The plotly mime type JupyterLab and VS Code render interactively. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

const FONT = { family: "Liberation Sans, Arial, Helvetica, sans-serif", size: 13 };
/** 15 distinguishable colours, one per keypoint (plotly's default cycle has only 10). */
const KEYPOINT_COLOURS = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
  "#000000",
  "#fdbf6f",
  "#b2df8a",
  "#fb9a99",
  "#6a3d9a",
];
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

function baseLayout(title: string, extra: Record<string, unknown> = {}): Figure["layout"] {
  return {
    title: { text: title },
    font: FONT,
    template: undefined,
    paper_bgcolor: "white",
    plot_bgcolor: "white",
    margin: { l: 70, r: 30, t: 60, b: 60 },
    width: 900,
    height: 520,
    ...extra,
  };
}

function axis(title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { title: { text: title }, gridcolor: "#e5e5e5", zeroline: false, ...extra };
}

/** The x and y axes of the 96×96 face frame: pixel centres 0..95, y down, equal scale. */
export function faceFrameAxes(): { xaxis: Record<string, unknown>; yaxis: Record<string, unknown> } {
  const edge = [-0.5, IMAGE_SIZE - 0.5];
  return {
    xaxis: axis("x (px)", { range: edge, constrain: "domain" }),
    yaxis: axis("y (px, down)", { range: [edge[1], edge[0]], scaleanchor: "x", constrain: "domain" }),
  };
}

function labelled(ds: { name?: string; synthetic?: boolean }): string {
  if (!ds.name) return "";
  return ds.synthetic && !/synthetic/i.test(ds.name) ? `${ds.name} (synthetic)` : ds.name;
}

/** Nice readable keypoint label: `left_eye_center` → `left eye center`. */
function pretty(name: string): string {
  return name.replaceAll("_", " ");
}

/** Counts per keypoint: how many faces miss it (either coordinate missing). */
export function missingCounts(ds: Pick<KeypointDataset, "n" | "mask">): number[] {
  const counts = new Array(NUM_KEYPOINTS).fill(0);
  for (let i = 0; i < ds.n; i++) {
    for (let k = 0; k < NUM_KEYPOINTS; k++) {
      const at = i * NUM_COORDS + 2 * k;
      if (ds.mask[at] === 0 || ds.mask[at + 1] === 0) counts[k]++;
    }
  }
  return counts;
}

/**
 * Bar chart: the share of faces missing each keypoint (the label gives the count).
 * Takes anything with `n` and `mask`, e.g. a dataset or the label-only Kaggle file.
 */
export function missingKeypointsChart(
  ds: Pick<KeypointDataset, "n" | "mask"> & { name?: string; synthetic?: boolean },
  opts: { title?: string } = {},
): Figure {
  const counts = missingCounts(ds);
  const share = counts.map((c) => (ds.n ? (100 * c) / ds.n : 0));
  return {
    data: [{
      type: "bar",
      x: KEYPOINT_NAMES.map(pretty),
      y: share,
      text: counts.map((c) => `${c}`),
      textposition: "outside",
      marker: { color: PALETTE[0] },
      hovertemplate: "%{x}: %{y:.1f}% missing (%{text} faces)<extra></extra>",
    }],
    layout: baseLayout(opts.title ?? `Missing keypoints: ${labelled(ds)} (${ds.n} faces)`, {
      xaxis: axis("", { tickangle: -40 }),
      yaxis: axis("faces missing the keypoint (%)", { range: [0, Math.max(5, ...share) * 1.15] }),
      margin: { l: 70, r: 30, t: 60, b: 150 },
    }),
  };
}

/** Bar chart: how many faces have 0, 1, …, 15 of their keypoints labelled. */
export function keypointsPerFaceChart(
  ds: Pick<KeypointDataset, "n" | "mask"> & { name?: string; synthetic?: boolean },
  opts: { title?: string } = {},
): Figure {
  const counts = new Array(NUM_KEYPOINTS + 1).fill(0);
  for (let i = 0; i < ds.n; i++) {
    let present = 0;
    for (let k = 0; k < NUM_KEYPOINTS; k++) {
      const at = i * NUM_COORDS + 2 * k;
      if (ds.mask[at] === 1 && ds.mask[at + 1] === 1) present++;
    }
    counts[present]++;
  }
  return {
    data: [{
      type: "bar",
      x: counts.map((_, k) => k),
      y: counts,
      text: counts.map((c) => (c ? `${c}` : "")),
      textposition: "outside",
      marker: { color: PALETTE[2] },
    }],
    layout: baseLayout(opts.title ?? `Keypoints labelled per face: ${labelled(ds)}`, {
      xaxis: axis("keypoints labelled", { dtick: 1 }),
      yaxis: axis("faces", { range: [0, Math.max(1, ...counts) * 1.15] }),
    }),
  };
}

/**
 * Scatter of every labelled keypoint over the 96×96 frame, one colour per keypoint (y axis down).
 * Draws at most `maxFaces` faces (a seeded random sample) to keep the figure light.
 */
export function keypointScatter(
  ds: Pick<KeypointDataset, "n" | "keypoints" | "mask"> & { name?: string; synthetic?: boolean },
  opts: { maxFaces?: number; seed?: number; title?: string } = {},
): Figure {
  const faces = sampleIndices(ds.n, opts.maxFaces ?? 400, opts.seed ?? 0);
  const data: Trace[] = KEYPOINT_NAMES.map((name, k) => {
    const x: number[] = [];
    const y: number[] = [];
    for (const i of faces) {
      const at = i * NUM_COORDS + 2 * k;
      if (ds.mask[at] === 1 && ds.mask[at + 1] === 1) {
        x.push(round2(ds.keypoints[at]));
        y.push(round2(ds.keypoints[at + 1]));
      }
    }
    return {
      type: "scatter",
      mode: "markers",
      name: pretty(name),
      x,
      y,
      marker: { size: 4, opacity: 0.55, color: KEYPOINT_COLOURS[k] },
    };
  });
  return {
    data,
    layout: baseLayout(opts.title ?? `Keypoint positions: ${labelled(ds)} (${faces.length} faces)`, {
      ...faceFrameAxes(),
      width: 820,
      height: 620,
      legend: { font: { size: 11 } },
    }),
  };
}

/** 2-D histogram of all labelled keypoints over the 96×96 frame (y axis down), bins of `bin` pixels. */
export function keypointDensity(
  ds: Pick<KeypointDataset, "n" | "keypoints" | "mask"> & { name?: string; synthetic?: boolean },
  opts: { bin?: number; title?: string } = {},
): Figure {
  const bin = opts.bin ?? 2;
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < ds.n * NUM_KEYPOINTS; i++) {
    if (ds.mask[2 * i] === 1 && ds.mask[2 * i + 1] === 1) {
      x.push(round2(ds.keypoints[2 * i]));
      y.push(round2(ds.keypoints[2 * i + 1]));
    }
  }
  const bins = { start: -0.5, end: IMAGE_SIZE - 0.5, size: bin };
  return {
    data: [{ type: "histogram2d", x, y, xbins: bins, ybins: bins, colorscale: "Viridis", name: "keypoints" }],
    layout: baseLayout(opts.title ?? `Keypoint density: ${labelled(ds)}`, {
      ...faceFrameAxes(),
      width: 720,
      height: 640,
    }),
  };
}

/** The mean face (grayscale heatmap) with the mean position of each keypoint on top. */
export function meanFaceFigure(
  ds: Pick<KeypointDataset, "n" | "images" | "keypoints" | "mask"> & { name?: string; synthetic?: boolean },
  opts: { title?: string } = {},
): Figure {
  const px = IMAGE_SIZE * IMAGE_SIZE;
  const mean = new Float64Array(px);
  for (let i = 0; i < ds.n; i++) {
    for (let p = 0; p < px; p++) mean[p] += ds.images[i * px + p];
  }
  const z: number[][] = [];
  for (let r = 0; r < IMAGE_SIZE; r++) {
    z.push(
      Array.from(mean.subarray(r * IMAGE_SIZE, (r + 1) * IMAGE_SIZE), (v) => round3(v / Math.max(1, ds.n))),
    );
  }
  const sums = new Float64Array(NUM_COORDS);
  const counts = new Float64Array(NUM_COORDS);
  for (let i = 0; i < ds.n * NUM_COORDS; i++) {
    if (ds.mask[i] === 1) {
      sums[i % NUM_COORDS] += ds.keypoints[i];
      counts[i % NUM_COORDS]++;
    }
  }
  const kx: number[] = [];
  const ky: number[] = [];
  const names: string[] = [];
  for (let k = 0; k < NUM_KEYPOINTS; k++) {
    if (counts[2 * k] && counts[2 * k + 1]) {
      kx.push(round2(sums[2 * k] / counts[2 * k]));
      ky.push(round2(sums[2 * k + 1] / counts[2 * k + 1]));
      names.push(pretty(KEYPOINT_NAMES[k]));
    }
  }
  return {
    data: [
      { type: "heatmap", z, colorscale: "Greys", showscale: false, zmin: 0, zmax: 1 },
      {
        type: "scatter",
        mode: "markers",
        x: kx,
        y: ky,
        text: names,
        name: "mean keypoints",
        marker: { color: "#d62728", size: 8, line: { color: "white", width: 1 } },
        hovertemplate: "%{text}: (%{x}, %{y})<extra></extra>",
      },
    ],
    layout: baseLayout(opts.title ?? `Mean face: ${labelled(ds)} (${ds.n} faces)`, {
      ...faceFrameAxes(),
      width: 620,
      height: 640,
      showlegend: false,
    }),
  };
}

/**
 * A training history in either common shape: one record per epoch (`[{epoch: 1, loss: …, val_loss: …}]`)
 * or one array per metric (`{loss: [...], val_loss: [...]}`, the shape of tfjs's `History.history`).
 */
export type HistoryLike =
  // Any record type (e.g. `EpochRecord[]`, whose interface has no index signature); numeric fields are drawn.
  | readonly object[]
  | Readonly<Record<string, readonly (number | null | undefined)[]>>;

/** One array per metric (NaN where an epoch has no value) and the epoch numbers (1-based). */
export function historyColumns(
  history: HistoryLike,
): { epochs: number[]; columns: Record<string, number[]> } {
  const columns: Record<string, number[]> = {};
  if (Array.isArray(history)) {
    const rows = history as readonly Readonly<Record<string, number | null | undefined>>[];
    const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) =>
      k !== "epoch" && rows.some((r) => typeof r[k] === "number")
    );
    for (const key of keys) {
      columns[key] = rows.map((r) => (typeof r[key] === "number" ? r[key] as number : NaN));
    }
    const epochs = rows.map((r, i) => (typeof r.epoch === "number" ? r.epoch : i + 1));
    return { epochs, columns };
  }
  const record = history as Readonly<Record<string, readonly (number | null | undefined)[]>>;
  let length = 0;
  for (const [key, values] of Object.entries(record)) {
    if (key === "epoch" || !Array.isArray(values)) continue;
    columns[key] = values.map((v) => (typeof v === "number" ? v : NaN));
    length = Math.max(length, values.length);
  }
  const epochs = Array.isArray(record.epoch)
    ? record.epoch.map((e, i) => e ?? i + 1)
    : Array.from({ length }, (_, i) => i + 1);
  return { epochs, columns };
}

/**
 * Learning curves: the losses on top (log scale), other metrics (RMSE in px, NME, …) below, training
 * solid and validation dashed. `keys` limits the metrics drawn.
 */
export function learningCurves(
  history: HistoryLike,
  opts: { title?: string; keys?: readonly string[]; logLoss?: boolean } = {},
): Figure {
  const { epochs, columns } = historyColumns(history);
  const keys = (opts.keys ?? Object.keys(columns)).filter((k) => k in columns);
  if (keys.length === 0) throw new RangeError("learningCurves: the history has no numeric metric to draw");
  const losses = keys.filter((k) => /loss/i.test(k));
  const others = keys.filter((k) => !/loss/i.test(k));
  const twoPanels = losses.length > 0 && others.length > 0;
  const data: Trace[] = keys.map((key) => {
    const isValidation = /^val|valid/i.test(key);
    const base = key.replace(/^val(idation)?_?/i, "");
    const colour = PALETTE[
      [...new Set(keys.map((k) => k.replace(/^val(idation)?_?/i, "")))].indexOf(base) %
      PALETTE.length
    ];
    return {
      type: "scatter",
      mode: epochs.length > 40 ? "lines" : "lines+markers",
      name: key,
      x: epochs,
      y: columns[key].map((v) => (Number.isFinite(v) ? v : null)),
      yaxis: twoPanels && !losses.includes(key) ? "y2" : "y",
      line: { color: colour, dash: isValidation ? "dash" : "solid" },
    };
  });
  const lossAxis = axis(losses.length ? "loss" : keys.join(", "), {
    type: opts.logLoss === false || losses.length === 0 ? "linear" : "log",
  });
  const layout = baseLayout(opts.title ?? "Learning curves", {
    // With two panels the x axis sits under the lower one (y2).
    xaxis: axis("epoch", { dtick: epochs.length <= 20 ? 1 : undefined, anchor: twoPanels ? "y2" : "y" }),
    yaxis: twoPanels ? { ...lossAxis, domain: [0.55, 1] } : lossAxis,
    height: twoPanels ? 620 : 460,
  });
  if (twoPanels) {
    layout.yaxis2 = axis(others.some((k) => /rmse|px/i.test(k)) ? "metric (RMSE in px, …)" : "metric", {
      domain: [0, 0.42],
      anchor: "x",
    });
  }
  return { data, layout };
}

/** Per-keypoint RMSE of one model, either as an array in keypoint order or a record by keypoint name. */
export interface ModelKeypointErrors {
  name: string;
  per_keypoint_rmse_px: readonly number[] | Readonly<Record<string, number>>;
}

/** Grouped bars: per-keypoint RMSE (px) of several models side by side. */
export function perKeypointRmseChart(
  models: readonly ModelKeypointErrors[],
  opts: { title?: string } = {},
): Figure {
  if (models.length === 0) throw new RangeError("perKeypointRmseChart: no models given");
  const data: Trace[] = models.map((m, i) => {
    const values = Array.isArray(m.per_keypoint_rmse_px)
      ? (m.per_keypoint_rmse_px as readonly number[])
      : KEYPOINT_NAMES.map((k) => (m.per_keypoint_rmse_px as Record<string, number>)[k]);
    if (values.length !== NUM_KEYPOINTS) {
      throw new RangeError(
        `perKeypointRmseChart: ${m.name} has ${values.length} values, expected ${NUM_KEYPOINTS}`,
      );
    }
    return {
      type: "bar",
      name: m.name,
      x: KEYPOINT_NAMES.map(pretty),
      y: values.map((v) => (Number.isFinite(v) ? round3(v) : null)),
      marker: { color: PALETTE[i % PALETTE.length] },
    };
  });
  return {
    data,
    layout: baseLayout(opts.title ?? "RMSE per keypoint", {
      barmode: "group",
      xaxis: axis("", { tickangle: -40 }),
      yaxis: axis("RMSE (px in the 96×96 face)"),
      margin: { l: 70, r: 30, t: 60, b: 150 },
    }),
  };
}

/** Error values of one model (e.g. per-face mean keypoint distance in px) for {@link errorDistribution}. */
export interface ModelErrors {
  name: string;
  errors: ArrayLike<number>;
}

/**
 * Error distributions of several models: overlaid histograms (`kind: "histogram"`, default) or box plots
 * (`kind: "box"`). NaN values (missing ground truth) are left out.
 */
export function errorDistribution(
  models: readonly ModelErrors[],
  opts: { kind?: "histogram" | "box"; title?: string; unit?: string; binSize?: number } = {},
): Figure {
  if (models.length === 0) throw new RangeError("errorDistribution: no models given");
  const kind = opts.kind ?? "histogram";
  const unit = opts.unit ?? "mean keypoint error per face (px)";
  const data: Trace[] = models.map((m, i) => {
    const values = Array.from(m.errors).filter(Number.isFinite).map(round3);
    const colour = PALETTE[i % PALETTE.length];
    return kind === "box"
      ? { type: "box", name: m.name, y: values, boxpoints: "outliers", marker: { color: colour } }
      : {
        type: "histogram",
        name: m.name,
        x: values,
        opacity: 0.6,
        marker: { color: colour },
        ...(opts.binSize ? { xbins: { size: opts.binSize } } : {}),
      };
  });
  return {
    data,
    layout: baseLayout(opts.title ?? "Error distribution", {
      barmode: "overlay",
      xaxis: axis(kind === "box" ? "" : unit),
      yaxis: axis(kind === "box" ? unit : "faces"),
    }),
  };
}

/** A plain bar chart (speed, size, …): one bar per label, value printed on the bar. */
export function barChart(
  labels: readonly string[],
  values: readonly number[],
  opts: { title?: string; yTitle?: string; format?: (v: number) => string; log?: boolean } = {},
): Figure {
  if (labels.length !== values.length) {
    throw new RangeError(`barChart: ${labels.length} labels for ${values.length} values`);
  }
  const format = opts.format ?? ((v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)));
  return {
    data: [{
      type: "bar",
      x: [...labels],
      y: [...values],
      text: values.map(format),
      textposition: "outside",
      marker: { color: labels.map((_, i) => PALETTE[i % PALETTE.length]) },
    }],
    layout: baseLayout(opts.title ?? "", {
      xaxis: axis(""),
      yaxis: axis(
        opts.yTitle ?? "",
        opts.log ? { type: "log" } : { range: [0, Math.max(0, ...values) * 1.2] },
      ),
      width: 640,
      height: 460,
    }),
  };
}

/**
 * Euclidean distance (px) between predicted and true position of each keypoint: `n × 15`, NaN where the
 * truth is missing. `perFace` averages the present keypoints of each face.
 */
export function keypointErrors(
  predicted: Float32Array,
  truth: Float32Array,
  n: number,
): { perKeypoint: Float32Array; perFace: Float32Array } {
  if (predicted.length !== n * NUM_COORDS || truth.length !== n * NUM_COORDS) {
    throw new RangeError(
      `keypointErrors: expected ${n * NUM_COORDS} coordinates, got ${predicted.length} and ${truth.length}`,
    );
  }
  const perKeypoint = new Float32Array(n * NUM_KEYPOINTS);
  const perFace = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    let count = 0;
    for (let k = 0; k < NUM_KEYPOINTS; k++) {
      const at = i * NUM_COORDS + 2 * k;
      const d = Math.hypot(predicted[at] - truth[at], predicted[at + 1] - truth[at + 1]);
      perKeypoint[i * NUM_KEYPOINTS + k] = d; // NaN where the truth is NaN
      if (Number.isFinite(d)) {
        sum += d;
        count++;
      }
    }
    perFace[i] = count ? sum / count : NaN;
  }
  return { perKeypoint, perFace };
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function sampleIndices(n: number, max: number, seed: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (n <= max) return all;
  const rng = new Rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, max).sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------------------------------------
// Display in the Deno Jupyter kernel

/** A MIME bundle (mime type → data) as Jupyter displays it. */
export type MediaBundle = Record<string, unknown>;

/** An object the Deno kernel displays through its `Symbol.for("Jupyter.display")` method. */
export interface Displayable {
  [key: symbol]: () => MediaBundle;
}

const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]!));
}

/**
 * The display bundle of a figure: the plotly JSON (interactive in JupyterLab and VS Code), and for other
 * viewers either the rendered PNG (GitHub shows it) or, without one, a short `text/html` note naming the
 * interactive HTML file. The 10 MB plotly bundle is never embedded.
 */
export function figureBundle(fig: Figure, opts: { png?: Uint8Array; html?: string } = {}): MediaBundle {
  const title = fig.layout.title?.text ?? "figure";
  const where = opts.html ? `: open ${opts.html}` : "";
  const bundle: MediaBundle = {
    [PLOTLY_MIME]: fig,
    "text/plain": `[plotly figure] ${title}${where}`,
  };
  // Frontends take the richest type they know; GitHub knows image/png but would prefer text/html, so the
  // HTML note is only sent where there is no PNG.
  if (opts.png) bundle["image/png"] = encodeBase64(opts.png);
  else {
    bundle["text/html"] = `<div style="font-family:sans-serif;padding:4px;border:1px solid #ddd">` +
      `interactive figure <b>${escapeHtml(title)}</b>${
        opts.html ? `: open <code>${escapeHtml(opts.html)}</code>` : " (needs a plotly-aware viewer)"
      }</div>`;
  }
  return bundle;
}

/**
 * Wraps a figure so that, as the last expression of a Deno notebook cell, it displays as a plotly figure.
 *
 * @example
 * ```ts
 * show(missingKeypointsChart(ds)); // in a notebook cell
 * ```
 */
export function show(fig: Figure, opts: { png?: Uint8Array; html?: string } = {}): Displayable {
  return { [JUPYTER_DISPLAY]: () => figureBundle(fig, opts) };
}

/** Wraps PNG bytes so that they display as an image in a Deno notebook cell. */
export function showPng(png: Uint8Array, caption?: string): Displayable {
  return {
    [JUPYTER_DISPLAY]: () => ({ "image/png": encodeBase64(png), "text/plain": caption ?? "[image]" }),
  };
}

/** Base64 of bytes (for `image/png` bundles and data URLs). */
export function encodeBase64(bytes: Uint8Array): string {
  let text = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    text += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(text);
}

function decodeBase64(text: string): Uint8Array {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Files: interactive HTML and PNG rendered by headless Chromium

/** File name of the plotly bundle copied next to the HTML figures. */
export const PLOTLY_BUNDLE_NAME = "plotly.js";

/**
 * Path of plotly.js-dist's browser bundle in the project's node_modules; runs `deno install` once where
 * the package has not been fetched yet (a fresh clone).
 */
export async function plotlyBundlePath(): Promise<string> {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const path = join(root, "node_modules", "plotly.js-dist", "plotly.js");
  if (await exists(path)) return path;
  const install = await new Deno.Command(Deno.execPath(), { args: ["install"], cwd: root, stdout: "null" })
    .output();
  if (install.success && await exists(path)) return path;
  throw new Error(`plotly.js-dist is not installed (${path} missing): run \`deno install\` in ${root}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Copies the plotly bundle into `dir` once (skipped where a copy of the same size is there). */
export async function ensurePlotlyCopy(dir: string): Promise<void> {
  const source = await plotlyBundlePath();
  const target = join(dir, PLOTLY_BUNDLE_NAME);
  const [a, b] = await Promise.all([Deno.stat(source), Deno.stat(target).catch(() => null)]);
  if (b && b.size === a.size) return;
  await writeFileAtomic(target, await Deno.readFile(source));
}

/**
 * A standalone HTML page for a figure. By default it loads `plotly.js` from its own folder (copied there
 * once by {@link saveFigure}); `inlineBundle` embeds the given bundle text instead (10 MB).
 */
export function figureHtml(fig: Figure, opts: { inlineBundle?: string } = {}): string {
  const title = escapeHtml(fig.layout.title?.text ?? "figure");
  // "</script" inside the JSON would end the script element early.
  const json = JSON.stringify(fig).replaceAll("</", "<\\/");
  const script = opts.inlineBundle !== undefined
    ? `<script>${opts.inlineBundle}</script>`
    : `<script src="${PLOTLY_BUNDLE_NAME}"></script>`;
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${title}</title>${script}</head>
<body style="margin:0">
<div id="figure"></div>
<script>
const fig = ${json};
Plotly.newPlot("figure", fig.data, fig.layout, {responsive: true});
</script>
</body></html>
`;
}

/** Where Chromium is looked for: `FKD_CHROMIUM`, else Debian's `/usr/bin/chromium`. */
export function chromiumPath(): string {
  return Deno.env.get("FKD_CHROMIUM") ?? "/usr/bin/chromium";
}

/** True where the Chromium that renders PNGs is installed. */
export function hasChromium(): boolean {
  try {
    return Deno.statSync(chromiumPath()).isFile;
  } catch {
    return false;
  }
}

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

// Structural types for the slice of playwright-core used here (it is loaded on first use only).
interface PwPage {
  addScriptTag(opts: { path?: string; content?: string }): Promise<unknown>;
  setContent(html: string): Promise<void>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
}
interface PwBrowser {
  newPage(): Promise<PwPage>;
  close(): Promise<void>;
}

/**
 * Renders figures to PNG in one headless Chromium (started once, reused for every figure) with the local
 * plotly bundle; `Plotly.toImage` draws the same figure JSON that the HTML files show.
 *
 * @example
 * ```ts
 * const renderer = await FigureRenderer.create();
 * try {
 *   await Deno.writeFile("a.png", await renderer.png(figA));
 * } finally {
 *   await renderer.close();
 * }
 * ```
 */
export class FigureRenderer {
  private constructor(private browser: PwBrowser, private page: PwPage) {}

  /** Starts Chromium; throws an Error saying how to install it where it is missing. */
  static async create(): Promise<FigureRenderer> {
    const executablePath = chromiumPath();
    if (!hasChromium()) {
      throw new Error(
        `Chromium not found at ${executablePath}: PNG figures need it. Install it with ` +
          "`apt-get install -y chromium` (or set FKD_CHROMIUM to a Chromium binary).",
      );
    }
    // Loaded on first use: most callers only build figures.
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS }) as unknown as PwBrowser;
    try {
      const page = await browser.newPage();
      await page.setContent("<!DOCTYPE html><html><body></body></html>");
      await page.addScriptTag({ path: await plotlyBundlePath() });
      return new FigureRenderer(browser, page);
    } catch (err) {
      await browser.close();
      throw err;
    }
  }

  /** PNG bytes of the figure at its layout size (default 900×520) times `scale`. */
  async png(
    fig: Figure,
    opts: { scale?: number; width?: number; height?: number } = {},
  ): Promise<Uint8Array> {
    const width = opts.width ?? (fig.layout.width as number | undefined) ?? 900;
    const height = opts.height ?? (fig.layout.height as number | undefined) ?? 520;
    const scale = opts.scale ?? 1;
    const url = await this.page.evaluate(
      // Runs in the page, where plotly is loaded as a global.
      ({ fig, width, height, scale }) =>
        (globalThis as unknown as {
          Plotly: { toImage(f: unknown, o: unknown): Promise<string> };
        }).Plotly.toImage(fig, { format: "png", width, height, scale }),
      { fig, width, height, scale },
    );
    const prefix = "data:image/png;base64,";
    if (!url.startsWith(prefix)) throw new Error(`Plotly.toImage returned ${url.slice(0, 40)}…, not a PNG`);
    return decodeBase64(url.slice(prefix.length));
  }

  /** Closes the browser. */
  async close(): Promise<void> {
    await this.browser.close();
  }
}

/** What {@link saveFigure} wrote. */
export interface SavedFigure {
  /** The interactive page, `basePath.html`. */
  html: string;
  /** The rendered image, `basePath.png`. */
  png: string;
  /** The PNG's bytes. */
  pngBytes: Uint8Array;
}

/**
 * Writes a figure as `basePath.html` (interactive; `plotly.js` copied once into the same folder) and
 * `basePath.png` (rendered from the same figure by headless Chromium at `scale`, default 2). Pass a
 * {@link FigureRenderer} to reuse one browser for many figures; without one, a browser is started and
 * closed for this figure. Both files are written atomically.
 */
export async function saveFigure(
  fig: Figure,
  basePath: string,
  opts: { renderer?: FigureRenderer; scale?: number } = {},
): Promise<SavedFigure> {
  const dir = dirname(basePath);
  await Deno.mkdir(dir, { recursive: true });
  const html = `${basePath}.html`;
  const png = `${basePath}.png`;
  await ensurePlotlyCopy(dir);
  await writeFileAtomic(html, figureHtml(fig));
  const renderer = opts.renderer ?? await FigureRenderer.create();
  try {
    const pngBytes = await renderer.png(fig, { scale: opts.scale ?? 2 });
    await writeFileAtomic(png, pngBytes);
    return { html, png, pngBytes };
  } finally {
    if (!opts.renderer) await renderer.close();
  }
}
