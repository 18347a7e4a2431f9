/**
 * Writing the thesis figures that are not plotly figures or face grids: the architecture diagram of
 * `thesis_figures.ts` as SVG and PNG.
 *
 * @example
 * ```ts
 * import { createModel } from "../models/registry.ts";
 * await saveArchitectureDiagram(createModel("lenet"), "outputs/figures/03_lenet_architecture");
 * ```
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { writeFileAtomic } from "../core/atomic_io.ts";
import { architectureSvg, layerRows } from "./thesis_figures.ts";

/** Writes {@link architectureSvg} of a model as PNG (atomically) and the SVG beside it; returns the PNG path. */
export async function saveArchitectureDiagram(
  model: tf.LayersModel,
  basePath: string,
  opts: { title?: string; rowsPerColumn?: number } = {},
): Promise<string> {
  const svg = architectureSvg(layerRows(model), opts);
  await writeFileAtomic(`${basePath}.svg`, svg);
  const png = await sharp(new TextEncoder().encode(svg)).png({ palette: true }).toBuffer();
  await writeFileAtomic(`${basePath}.png`, png);
  return `${basePath}.png`;
}
