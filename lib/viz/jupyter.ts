/**
 * Display in the Deno Jupyter kernel: a figure as plotly JSON (with its PNG or a note for other viewers),
 * and PNG bytes as an image, through the kernel's `Symbol.for("Jupyter.display")` protocol.
 *
 * @example
 * ```ts
 * import { show } from "./jupyter.ts";
 * import { missingKeypointsChart } from "./figures.ts";
 * import { syntheticDataset } from "../data/synthetic.ts";
 * show(missingKeypointsChart(syntheticDataset({ n: 500 }))); // the last expression of a notebook cell
 * ```
 *
 * @module
 */
import { type Figure, PLOTLY_MIME } from "./figures.ts";
import { encodeBase64, escapeHtml } from "./_util.ts";

/** A MIME bundle (mime type → data) as Jupyter displays it. */
export type MediaBundle = Record<string, unknown>;

/** An object the Deno kernel displays through its `Symbol.for("Jupyter.display")` method. */
export interface Displayable {
  [key: symbol]: () => MediaBundle;
}

const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");

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
 * import { missingKeypointsChart } from "./figures.ts";
 * import { syntheticDataset } from "../data/synthetic.ts";
 * show(missingKeypointsChart(syntheticDataset({ n: 500 }))); // in a notebook cell
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
