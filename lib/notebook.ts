/**
 * The shared setup of the thesis notebooks, so that each notebook's first cell is two lines: which dataset
 * (env `FKD_DATA`, else a Kaggle `data/training.csv`, else the synthetic embedded default), quick mode
 * (env `FKD_QUICK=1`: a small subset and 1–2 epochs), where figures go (`outputs/figures/`), and saving +
 * displaying a figure in one call.
 *
 * @example
 * ```ts
 * // first cell of notebooks/01_explore_data.ipynb
 * import { setupNotebook } from "./notebook.ts";
 * import { missingKeypointsChart } from "./viz/figures.ts";
 * const nb = await setupNotebook("01");
 * nb; // shows the dataset it picked and why
 * // later cells
 * await nb.figure(missingKeypointsChart(nb.ds), "missing_keypoints");
 * ```
 *
 * @module
 */
import { isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NUM_COORDS } from "./core/constants.ts";
import { subset } from "./data/dataset.ts";
import { PIXELS } from "./core/constants.ts";
import { type KaggleLabels, readKaggleLabels } from "./data/kaggle_io.ts";
import { DEFAULT_SYNTHETIC_SIZE, describeDataset, loadDataset } from "./data/spec_io.ts";
import type { KeypointDataset } from "./data/types.ts";
import { type FaceGridOptions, type FaceToDraw } from "./viz/draw.ts";
import { saveFaceGrid } from "./viz/png_io.ts";
import { type Figure } from "./viz/figures.ts";
import { encodeBase64 } from "./viz/_util.ts";
import { ensurePlotlyCopy, figureHtml, FigureRenderer, hasChromium, saveFigure } from "./viz/render_io.ts";
import { type Displayable, figureBundle, showPng } from "./viz/jupyter.ts";
import sharp from "sharp";
import { writeFileAtomic } from "./core/atomic_io.ts";

/** The repository root (the folder above `lib/`). */
export const REPO_ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** Faces used in quick mode unless a notebook asks for another number. */
export const QUICK_FACES = 300;

/** The real Kaggle label file (no images) where the shared data folder is beside the repository. */
export const KAGGLE_LABELS_PATH: string = join(
  REPO_ROOT,
  "..",
  "shared",
  "data",
  "kaggle",
  "facial_keypoints_labels_only.csv",
);

/** Which dataset a notebook uses and why. */
export interface DatasetChoice {
  /** A dataset spec for `loadDataset` (paths absolute). */
  spec: string;
  /** Why it was picked, for the notebook's first output. */
  reason: string;
  /** How to show `spec` (relative to the repository root), so saved notebooks carry no machine paths. */
  shownAs?: string;
}

/** True for `1`, `true`, `yes`, `on` (any case). */
export function envFlag(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}

/**
 * Picks the dataset: `FKD_DATA` (a relative path is taken from the repository root, where `deno task`
 * runs), else `data/training.csv` where present (Kaggle), else `synthetic:N`.
 */
export function chooseDataset(
  env: { FKD_DATA?: string },
  fileExists: (path: string) => boolean,
  root = REPO_ROOT,
): DatasetChoice {
  const named = env.FKD_DATA?.trim();
  if (named) {
    // Each part of a combined name (`a+b`) is a path of its own.
    const spec = named.split("+").map((part) =>
      part === "synthetic" || part.startsWith("synthetic:") || isAbsolute(part) ? part : join(root, part)
    ).join("+");
    return { spec, reason: `named by FKD_DATA=${named}`, shownAs: spec === named ? undefined : named };
  }
  const kaggle = join(root, "data", "training.csv");
  if (fileExists(kaggle)) {
    return { spec: kaggle, reason: "the Kaggle training.csv found in data/", shownAs: "data/training.csv" };
  }
  return {
    spec: `synthetic:${DEFAULT_SYNTHETIC_SIZE}`,
    reason: "no real data found (set FKD_DATA=<dataset> or put Kaggle's training.csv in data/), so the " +
      "SYNTHETIC embedded default",
  };
}

/** True where `path` is an existing file. */
export function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");

/** Markdown text that displays as markdown in a notebook cell. */
export function md(text: string): Displayable {
  return { [JUPYTER_DISPLAY]: () => ({ "text/markdown": text, "text/plain": text }) };
}

/** Options of {@link setupNotebook}. */
export interface NotebookOptions {
  /** Faces in quick mode (default {@link QUICK_FACES}). */
  quickFaces?: number;
  /** Load at most this many faces in full mode (default: all). */
  maxFaces?: number;
  /** Skip loading the dataset (a notebook that needs none). */
  noData?: boolean;
}

/** What {@link setupNotebook} returns: the chosen data and the figure helpers of one notebook. */
export class NotebookSession {
  #renderer: Promise<FigureRenderer | null> | undefined;
  #figures: string[] = [];

  constructor(
    /** Figure file prefix, e.g. `"01"`. */
    readonly prefix: string,
    /** Quick mode (`FKD_QUICK=1`). */
    readonly quick: boolean,
    /** The dataset choice. */
    readonly choice: DatasetChoice,
    /** The loaded dataset (a subset in quick mode). */
    readonly ds: KeypointDataset,
    /** Where figures are written. */
    readonly figuresDir: string = join(REPO_ROOT, "outputs", "figures"),
  ) {}

  /** `full` normally, `quick` in quick mode (epochs, sample sizes, …). */
  pick<T>(full: T, quick: T): T {
    return this.quick ? quick : full;
  }

  /**
   * The run folder where the notebooks keep a trained model: one per dataset (so that a run is never
   * continued on other data) and separate for quick runs, e.g. `outputs/models/notebooks/ytf68/lenet`.
   */
  modelDir(model: string): string {
    return join(
      REPO_ROOT,
      "outputs",
      "models",
      this.quick ? "notebooks-quick" : "notebooks",
      this.dataSlug,
      model,
    );
  }

  /** The dataset as a folder name: `synthetic-1000`, `ytf68-training`, `training.csv`, … */
  get dataSlug(): string {
    const shown = this.choice.shownAs ?? this.choice.spec;
    const parts = shown.split("+").map((p) => p.replace(/[\\/]+$/, "").replace(/^.*[\\/]/, ""));
    return parts.join("+").replace(/[^\w.+-]+/g, "-").replace(/^-+|-+$/g, "") || "data";
  }

  /** Paths of the figures written so far. */
  get figures(): readonly string[] {
    return this.#figures;
  }

  private renderer(): Promise<FigureRenderer | null> {
    this.#renderer ??= hasChromium() ? FigureRenderer.create() : Promise.resolve(
      console.warn("Chromium not found: figures are written as HTML only (apt-get install -y chromium)"),
    )
      .then(() => null);
    return this.#renderer;
  }

  /**
   * Writes `outputs/figures/<prefix>_<name>.png` (scale 2, for papers and the README) and `.html`
   * (interactive), and returns the figure for display: interactive where the viewer knows plotly, the PNG
   * elsewhere (GitHub).
   */
  async figure(fig: Figure, name: string): Promise<Displayable> {
    const base = join(this.figuresDir, `${this.prefix}_${name}`);
    const relHtml = `outputs/figures/${this.prefix}_${name}.html`;
    const renderer = await this.renderer();
    if (!renderer) {
      await Deno.mkdir(this.figuresDir, { recursive: true });
      await ensurePlotlyCopy(this.figuresDir);
      await writeFileAtomic(`${base}.html`, figureHtml(fig));
      this.#figures.push(`${base}.html`);
      return { [JUPYTER_DISPLAY]: () => figureBundle(fig, { html: relHtml }) };
    }
    const saved = await saveFigure(fig, base, { renderer });
    this.#figures.push(saved.png, saved.html);
    // The notebook embeds a scale-1 rendering in 256 colours (plots have few): a tenth of the bytes.
    const png = new Uint8Array(
      await sharp(await renderer.png(fig, { scale: 1 })).png({ palette: true, compressionLevel: 9 })
        .toBuffer(),
    );
    return { [JUPYTER_DISPLAY]: () => figureBundle(fig, { png, html: relHtml }) };
  }

  /** Draws faces with keypoints (lib/viz/draw.ts) into `outputs/figures/<prefix>_<name>.png` and shows it. */
  async faces(name: string, faces: readonly FaceToDraw[], opts: FaceGridOptions = {}): Promise<Displayable> {
    const path = join(this.figuresDir, `${this.prefix}_${name}.png`);
    await saveFaceGrid(path, faces, opts);
    this.#figures.push(path);
    // Faces are photographs: the notebook embeds a JPEG (about half the bytes of the PNG, without
    // chroma subsampling so the keypoint colours stay sharp); the PNG on disk is exact.
    const jpeg = await sharp(path).jpeg({ quality: 85, chromaSubsampling: "4:4:4" }).toBuffer();
    const caption = `outputs/figures/${this.prefix}_${name}.png`;
    return { [JUPYTER_DISPLAY]: () => ({ "image/jpeg": encodeBase64(jpeg), "text/plain": caption }) };
  }

  /** Path `outputs/figures/<prefix>_<name>` (add the extension) for files a notebook writes itself. */
  outputPath(name: string): string {
    return join(this.figuresDir, `${this.prefix}_${name}`);
  }

  /** Shows a PNG file (e.g. an annotated portrait written by lib/viz/annotate.ts) and lists it as a figure. */
  async image(path: string, caption?: string): Promise<Displayable> {
    this.#figures.push(path);
    return showPng(await Deno.readFile(path), caption ?? path.slice(REPO_ROOT.length));
  }

  /**
   * Shows several images side by side, each scaled to `height` pixels, as one JPEG (photos stay small in
   * the saved notebook; the full-size files are kept on disk).
   */
  async images(
    paths: readonly string[],
    caption: string,
    opts: { height?: number } = {},
  ): Promise<Displayable> {
    const height = opts.height ?? 360, gap = 8;
    const parts = await Promise.all(
      paths.map((p) =>
        sharp(p).resize({ height }).flatten({ background: "#ffffff" }).png().toBuffer({
          resolveWithObject: true,
        })
      ),
    );
    const lefts = parts.map((_, i) => parts.slice(0, i).reduce((a, q) => a + q.info.width + gap, 0));
    const width = lefts.at(-1)! + parts.at(-1)!.info.width;
    const jpeg = await sharp({ create: { width, height, channels: 3, background: "#ffffff" } })
      .composite(parts.map((q, i) => ({ input: q.data, left: lefts[i], top: 0 })))
      .jpeg({ quality: 82 })
      .toBuffer();
    return { [JUPYTER_DISPLAY]: () => ({ "image/jpeg": encodeBase64(jpeg), "text/plain": caption }) };
  }

  /** Displays now (not only as a cell's last value): for outputs made in a loop. */
  async display(item: Displayable): Promise<void> {
    const bundle = (item as unknown as Record<symbol, () => Record<string, unknown>>)[JUPYTER_DISPLAY]();
    const api = (Deno as unknown as {
      jupyter?: { display(obj: unknown, opts: { raw: boolean }): Promise<void> };
    }).jupyter;
    if (api) await api.display(bundle, { raw: true });
    else console.log(bundle["text/plain"] ?? "");
  }

  /**
   * The real Kaggle labels (7049 rows, no images) from `../shared/data/kaggle/` where that folder is
   * beside the repository, else null.
   */
  async kaggleLabels(): Promise<(KaggleLabels & { name: string; synthetic: false }) | null> {
    if (!fileExists(KAGGLE_LABELS_PATH)) return null;
    const labels = await readKaggleLabels(KAGGLE_LABELS_PATH);
    return { ...labels, name: "Kaggle training.csv labels", synthetic: false };
  }

  /** Face `i` of a dataset in the form `lib/viz/draw.ts` takes. */
  face(ds: KeypointDataset, i: number, label?: string, keypoints?: Float32Array): FaceToDraw {
    return {
      image: ds.images.subarray(i * PIXELS, (i + 1) * PIXELS),
      keypoints: keypoints ?? ds.keypoints.subarray(i * NUM_COORDS, (i + 1) * NUM_COORDS),
      label,
    };
  }

  /** Closes the browser that renders PNGs (the last cell of each notebook). */
  async close(): Promise<Displayable> {
    const renderer = await this.#renderer;
    this.#renderer = undefined;
    await renderer?.close();
    const rel = (f: string) => `- \`${f.slice(REPO_ROOT.length)}\``;
    const pngs = this.#figures.filter((f) => f.endsWith(".png"));
    const html = this.#figures.filter((f) => f.endsWith(".html"));
    return md(
      `Figures written: ${pngs.length} PNG` +
        (html.length ? ` (${html.length} of them also as interactive .html beside the PNG)` : "") +
        `\n\n${(pngs.length ? pngs : html).map(rel).join("\n")}`,
    );
  }

  /** The summary shown by the first cell: dataset, why, quick mode. */
  summary(): string {
    const lines = [
      `**Dataset:** \`${this.ds.name}\`, ${this.choice.reason}.`,
      this.ds.synthetic
        ? "> ⚠️ **Synthetic faces** (generated drawings, not photographs): every number below is a check that the " +
          "pipeline works, not a result about real faces."
        : "",
      "```text\n" + describeDataset(this.ds) + "\n```",
      `**Mode:** ${
        this.quick
          ? "QUICK (`FKD_QUICK=1`): a small subset and 1–2 epochs; numbers are not meaningful"
          : "full"
      }. Figures go to \`outputs/figures/${this.prefix}_*.png\` and \`.html\`.`,
    ];
    return lines.filter(Boolean).join("\n\n");
  }

  [JUPYTER_DISPLAY](): Record<string, string> {
    const text = this.summary();
    return { "text/markdown": text, "text/plain": text };
  }
}

/**
 * Sets a notebook up: reads `FKD_DATA` / `FKD_QUICK`, loads the dataset (the first `quickFaces` faces in
 * quick mode), and returns the session whose display names the dataset and says whether it is synthetic.
 */
export async function setupNotebook(prefix: string, opts: NotebookOptions = {}): Promise<NotebookSession> {
  const quick = envFlag(Deno.env.get("FKD_QUICK"));
  const choice = chooseDataset({ FKD_DATA: Deno.env.get("FKD_DATA") }, fileExists);
  const limit = quick ? (opts.quickFaces ?? QUICK_FACES) : opts.maxFaces;
  let ds: KeypointDataset;
  if (opts.noData) {
    ds = {
      name: "none",
      synthetic: false,
      n: 0,
      images: new Float32Array(0),
      keypoints: new Float32Array(0),
      mask: new Uint8Array(0),
    };
  } else {
    ds = await loadDataset(choice.spec, { limit });
    if (limit !== undefined && ds.n > limit) ds = subset(ds, Array.from({ length: limit }, (_, i) => i));
    // The readers name a dataset by the (absolute) path they were given; show the user's relative one.
    const parsed = choice.spec.replace(/:(training|test)$/, "");
    const shown = choice.shownAs?.replace(/:(training|test)$/, "");
    if (shown && ds.name.includes(parsed)) ds = { ...ds, name: ds.name.replace(parsed, shown) };
  }
  return new NotebookSession(prefix, quick, choice, ds);
}
