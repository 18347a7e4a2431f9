/**
 * Figures as files: a standalone interactive HTML page (with the local plotly bundle beside it) and a PNG
 * rendered from the same figure JSON by headless Chromium (Debian's `chromium`, driven by playwright-core).
 *
 * @example
 * ```ts
 * import { saveFigure } from "./render_io.ts";
 * import { missingKeypointsChart } from "./figures.ts";
 * import { syntheticDataset } from "../data/synthetic.ts";
 * const fig = missingKeypointsChart(syntheticDataset({ n: 500 }));
 * await saveFigure(fig, "outputs/figures/missing"); // missing.html + missing.png
 * ```
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../core/atomic_io.ts";
import type { Figure } from "./figures.ts";
import { decodeBase64, escapeHtml } from "./_util.ts";

/** File name of the plotly bundle copied next to the HTML figures. */
const PLOTLY_BUNDLE_NAME = "plotly.js";

/**
 * Path of plotly.js-dist's browser bundle in the project's node_modules; runs `deno install` once where
 * the package has not been fetched yet (a fresh clone).
 */
async function plotlyBundlePath(): Promise<string> {
  const root = fileURLToPath(new URL("../..", import.meta.url));
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
 * import { barChart } from "./figures.ts";
 * const figA = barChart(["lenet", "resnet"], [2.1, 1.7], { title: "RMSE (px)" });
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
