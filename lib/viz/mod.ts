/**
 * Pictures: face grids (`draw.ts`), boxes and keypoints on photographs (`annotate.ts`), and the plotly
 * figures of the notebooks (`figures.ts`).
 *
 * @module
 */
export * from "./draw.ts";
export * from "./annotate.ts";
export * from "./figures.ts";
export * from "./jupyter.ts";
export * from "./render_io.ts";
export * from "./png_io.ts";
