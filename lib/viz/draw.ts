/**
 * Draws 96×96 faces with their keypoints into one RGB grid image, for looking at data and augmentations.
 *
 * Keypoints are coloured by side (`SIDE_COLOURS`) so that a wrong flip is visible at a glance: the
 * subject's LEFT points (`left_*`, `mouth_left_corner`, on the image's right-hand side of a frontal face)
 * are orange, the subject's RIGHT points cyan, and the midline points (nose, lips) magenta. Labels use a built-in 3×5 pixel font, so
 * the output does not depend on installed fonts.
 *
 * @example
 * ```ts
 * import { saveFaceGrid } from "./png_io.ts";
 * import { syntheticDataset } from "../data/synthetic.ts";
 * const { images: image, keypoints } = syntheticDataset({ n: 1 });
 * await saveFaceGrid("outputs/faces.png", [{ image, keypoints, label: "original" }], { columns: 4, scale: 3 });
 * ```
 *
 * @module
 */
import type { Augmenter } from "../augment/augment.ts";
import { IMAGE_SIZE, KEYPOINT_SIDES, NUM_COORDS, SIDE_COLOURS } from "../core/constants.ts";
import { PIXELS } from "../core/constants.ts";
import type { KeypointDataset } from "../data/types.ts";
import { UsageError } from "../core/errors.ts";
import { Rng } from "../core/rng.ts";
import { gridPixel } from "./_util.ts";

/** An RGB colour, 0–255 per channel. */
export type Rgb = readonly [number, number, number];

/** One face to draw. */
export interface FaceToDraw {
  /** 96×96 grayscale pixels in [0, 1]. */
  image: Float32Array;
  /** 30 coordinates in 96×96 pixels (Kaggle order), NaN where missing (not drawn). */
  keypoints?: Float32Array;
  /** Text under the face (ASCII letters, digits and a little punctuation; lower case is shown upper case). */
  label?: string;
}

/** Point colours by side (defaults: {@link SIDE_COLOURS}). */
export interface PointColors {
  /** Subject's left points. */
  left?: Rgb;
  /** Subject's right points. */
  right?: Rgb;
  /** Midline points: nose tip and lips. */
  centre?: Rgb;
}

/** Layout options of {@link faceGridRgb} and `saveFaceGrid`. */
export interface FaceGridOptions {
  /** Faces per row (default: all in one row, at most 8). */
  columns?: number;
  /** Integer zoom of each 96×96 face (default 3). */
  scale?: number;
  /** Keypoint colours by side. */
  pointColors?: PointColors;
}

/** An RGB image, row-major, 3 bytes per pixel, with where each face cell starts. */
export interface RgbGrid {
  data: Uint8Array;
  width: number;
  height: number;
  /** Top-left corner (in grid pixels) of each face's 96·scale square, in input order. */
  cells: { x: number; y: number }[];
  /** The zoom used. */
  scale: number;
}

/** `#rrggbb` as an {@link Rgb}. */
function hexRgb(hex: string): Rgb {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as unknown as Rgb;
}

/** Default colours: {@link SIDE_COLOURS} (subject's left orange, right cyan, midline magenta). */
export const DEFAULT_POINT_COLORS: Required<PointColors> = {
  left: hexRgb(SIDE_COLOURS.left),
  right: hexRgb(SIDE_COLOURS.right),
  centre: hexRgb(SIDE_COLOURS.centre),
};

const PAD = 4;
const BACKGROUND: Rgb = [32, 32, 32];
const TEXT: Rgb = [230, 230, 230];
const OUTLINE: Rgb = [0, 0, 0];

/**
 * Renders faces into one RGB image (grayscale faces zoomed by nearest neighbour, keypoints as outlined
 * squares coloured by side, labels under the faces).
 */
export function faceGridRgb(faces: readonly FaceToDraw[], opts: FaceGridOptions = {}): RgbGrid {
  if (faces.length === 0) throw new UsageError("faceGridRgb: no faces to draw");
  const scale = opts.scale ?? 3;
  if (!(Number.isInteger(scale) && scale >= 1 && scale <= 16)) {
    throw new UsageError(`faceGridRgb: scale must be an integer in 1..16, got ${scale}`);
  }
  const columns = opts.columns ?? Math.min(faces.length, 8);
  if (!(Number.isInteger(columns) && columns >= 1)) {
    throw new UsageError(`faceGridRgb: columns must be an integer ≥ 1, got ${columns}`);
  }
  faces.forEach((f, i) => {
    if (!(f.image instanceof Float32Array) || f.image.length !== PIXELS) {
      throw new UsageError(`faceGridRgb: face ${i} image has ${f.image?.length} pixels, expected ${PIXELS}`);
    }
    if (f.keypoints && f.keypoints.length !== NUM_COORDS) {
      throw new UsageError(
        `faceGridRgb: face ${i} has ${f.keypoints.length} coordinates, expected ${NUM_COORDS}`,
      );
    }
  });
  const colors = { ...DEFAULT_POINT_COLORS, ...opts.pointColors };
  const fontScale = scale >= 2 ? 2 : 1;
  const labelHeight = faces.some((f) => f.label) ? 7 * fontScale : 0;
  const side = IMAGE_SIZE * scale;
  const rows = Math.ceil(faces.length / columns);
  const cols = Math.min(columns, faces.length);
  const width = PAD + cols * (side + PAD);
  const height = PAD + rows * (side + labelHeight + PAD);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(BACKGROUND, 3 * i);

  const put = (x: number, y: number, c: Rgb, clip: { x0: number; y0: number; x1: number; y1: number }) => {
    if (x < clip.x0 || y < clip.y0 || x >= clip.x1 || y >= clip.y1) return;
    const o = 3 * (y * width + x);
    data[o] = c[0];
    data[o + 1] = c[1];
    data[o + 2] = c[2];
  };

  const cells = faces.map((face, k) => {
    const ox = PAD + (k % columns) * (side + PAD);
    const oy = PAD + Math.floor(k / columns) * (side + labelHeight + PAD);
    for (let py = 0; py < IMAGE_SIZE; py++) {
      for (let px = 0; px < IMAGE_SIZE; px++) {
        const v = face.image[py * IMAGE_SIZE + px];
        const g = Number.isNaN(v) ? 0 : Math.round(255 * Math.min(1, Math.max(0, v)));
        for (let dy = 0; dy < scale; dy++) {
          let o = 3 * ((oy + py * scale + dy) * width + ox + px * scale);
          for (let dx = 0; dx < scale; dx++, o += 3) data[o] = data[o + 1] = data[o + 2] = g;
        }
      }
    }
    const clip = { x0: ox, y0: oy, x1: ox + side, y1: oy + side };
    if (face.keypoints) {
      const kp = face.keypoints;
      const r = Math.max(1, Math.floor(scale / 2));
      // Outlines first, then fills, so a neighbour's outline never hides a point's colour.
      for (const pass of ["outline", "fill"] as const) {
        for (let j = 0; j < KEYPOINT_SIDES.length; j++) {
          const x = kp[2 * j], y = kp[2 * j + 1];
          if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
          const gx = gridPixel(ox, x, scale), gy = gridPixel(oy, y, scale);
          const rr = pass === "outline" ? r + 1 : r;
          const c = pass === "outline" ? OUTLINE : colors[KEYPOINT_SIDES[j]];
          for (let dy = -rr; dy <= rr; dy++) {
            for (let dx = -rr; dx <= rr; dx++) put(gx + dx, gy + dy, c, clip);
          }
        }
      }
    }
    if (face.label) {
      drawText(
        face.label,
        ox + 1,
        oy + side + fontScale,
        fontScale,
        (x, y) => put(x, y, TEXT, { x0: ox, y0: oy + side, x1: ox + side, y1: oy + side + labelHeight }),
      );
    }
    return { x: ox, y: oy };
  });
  return { data, width, height, cells, scale };
}

/**
 * Originals and their augmentations, ready for `saveFaceGrid` (`png_io.ts`): for each of the first `faces` faces,
 * the original followed by `copies` augmented versions, each labelled with what was applied (`F` marks a
 * mirrored draw, e.g. `F:HFLIP+ROTATE,BRIGHTNESS`). Draw with `columns: copies + 1` for one face per row.
 *
 * @example
 * ```ts
 * import { defaultAugmentation } from "../augment/augment.ts";
 * import { syntheticDataset } from "../data/synthetic.ts";
 * import { saveFaceGrid } from "./png_io.ts";
 * const ds = syntheticDataset({ n: 4 });
 * const faces = augmentationGrid(ds, defaultAugmentation(), { faces: 4, copies: 5, seed: 0 });
 * await saveFaceGrid("outputs/augmentations.png", faces, { columns: 6 });
 * ```
 */
export function augmentationGrid(
  ds: KeypointDataset,
  aug: Augmenter,
  opts: { faces?: number; copies?: number; seed?: number } = {},
): FaceToDraw[] {
  const n = Math.min(opts.faces ?? 4, ds.n), copies = opts.copies ?? 5;
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(copies) && copies >= 0)) {
    throw new UsageError(
      `augmentationGrid: need at least one face and copies ≥ 0 (got ${n} faces, ${copies})`,
    );
  }
  const rng = new Rng(opts.seed ?? 0);
  const out: FaceToDraw[] = [];
  for (let i = 0; i < n; i++) {
    const image = ds.images.subarray(i * PIXELS, (i + 1) * PIXELS);
    const keypoints = ds.keypoints.subarray(i * NUM_COORDS, (i + 1) * NUM_COORDS);
    out.push({ image, keypoints, label: ds.ids?.[i] ?? `face ${i}` });
    for (let k = 0; k < copies; k++) {
      const plan = aug.sample(keypoints, rng);
      const label = plan.steps
        .map((s) => (s.kind === "affine" ? `${s.mirrored ? "F:" : ""}${s.names.join("+")}` : s.name))
        .join(",");
      out.push({ ...aug.replay(image, keypoints, plan), label: label || "unchanged" });
    }
  }
  return out;
}

// A 3×5 pixel font: 5 rows per glyph, each a 3-bit row (4 = left column, 2 = middle, 1 = right).
// deno-fmt-ignore
const FONT: Record<string, string> = {
  "0": "75557", "1": "26227", "2": "71747", "3": "71717", "4": "55711", "5": "74717", "6": "74757",
  "7": "71111", "8": "75757", "9": "75717", A: "25755", B: "65656", C: "34443", D: "65556", E: "74647",
  F: "74644", G: "34553", H: "55755", I: "72227", J: "11152", K: "55655", L: "44447", M: "57755",
  N: "65555", O: "25552", P: "65644", Q: "25563", R: "65655", S: "34216", T: "72222", U: "55557",
  V: "55552", W: "55775", X: "55255", Y: "55222", Z: "71247", " ": "00000", ".": "00002", ",": "00024",
  ":": "02020", ";": "02024", "-": "00700", "+": "02720", "=": "07070", _: "00007", "/": "11244",
  "(": "24442", ")": "42224", "[": "64446", "]": "31113", "#": "57575", "%": "51245", "°": "25200",
  "±": "27207", "×": "05250", "?": "61202", "!": "22202", "'": "22000", "<": "12421", ">": "42124",
  "~": "00630", "*": "05250",
};

/** Calls `plot(x, y)` for every lit pixel of `text` at the given top-left corner and integer zoom. */
function drawText(text: string, x0: number, y0: number, zoom: number, plot: (x: number, y: number) => void) {
  let x = x0;
  for (const ch of text.toUpperCase()) {
    const glyph = FONT[ch] ?? FONT["?"];
    for (let row = 0; row < 5; row++) {
      const bits = glyph.charCodeAt(row) - 48;
      for (let col = 0; col < 3; col++) {
        if (!(bits & (4 >> col))) continue;
        for (let dy = 0; dy < zoom; dy++) {
          for (let dx = 0; dx < zoom; dx++) plot(x + col * zoom + dx, y0 + row * zoom + dy);
        }
      }
    }
    x += 4 * zoom;
  }
}
