/**
 * Plotly figures for the notebooks and reports: builders that return plain figure JSON (`{data, layout}`).
 * `jupyter.ts` displays them in a notebook; `saveFigure` (`render_io.ts`) writes each as interactive HTML
 * and as a PNG rendered from the same figure by headless Chromium.
 *
 * Images are 96×96 with y pointing down (Kaggle convention), so every figure over the face frame has a
 * reversed y axis and equal x/y scale.
 *
 * @example
 * ```ts
 * import { missingKeypointsChart } from "./figures.ts";
 * import { saveFigure } from "./render_io.ts";
 * import { syntheticDataset } from "../data/synthetic.ts";
 * const fig = missingKeypointsChart(syntheticDataset({ n: 500 }));
 * await saveFigure(fig, "outputs/figures/missing"); // missing.html + missing.png
 * ```
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import { IMAGE_SIZE, KEYPOINT_NAMES, NUM_COORDS, NUM_KEYPOINTS } from "../core/constants.ts";
import type { KeypointDataset } from "../data/types.ts";
import { Rng } from "../core/rng.ts";

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
function faceFrameAxes(): { xaxis: Record<string, unknown>; yaxis: Record<string, unknown> } {
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
  if (keys.length === 0) throw new UsageError("learningCurves: the history has no numeric metric to draw");
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
  if (models.length === 0) throw new UsageError("perKeypointRmseChart: no models given");
  const data: Trace[] = models.map((m, i) => {
    const values = Array.isArray(m.per_keypoint_rmse_px)
      ? (m.per_keypoint_rmse_px as readonly number[])
      : KEYPOINT_NAMES.map((k) => (m.per_keypoint_rmse_px as Record<string, number>)[k]);
    if (values.length !== NUM_KEYPOINTS) {
      throw new UsageError(
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
  if (models.length === 0) throw new UsageError("errorDistribution: no models given");
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
    throw new UsageError(`barChart: ${labels.length} labels for ${values.length} values`);
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
    throw new UsageError(
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
