/**
 * The embedded default dataset: seeded synthetic grayscale faces with exactly known keypoints, so that every
 * step of the project runs on a fresh clone with no download.
 *
 * Each face is drawn directly into a 96×96 Float32Array from a few anti-aliased shapes (signed distance
 * fields): a background gradient, hair, ears, neck, an egg-shaped head with Lambert shading, eyes (white,
 * iris, pupil, lash line), curved eyebrow strokes, a nose (tip highlight, nostrils, shadows) and a mouth with
 * two lips. Every feature is drawn through one affine frame (feature space → image pixels) and its keypoints
 * are mapped through the same frame, so the keypoints sit exactly where the features are drawn: eye centre =
 * iris centre, eye corners = the two ends of the eye shape, eyebrow ends = the ends of the stroke's centre
 * line, nose tip, mouth corners = the ends of the line between the lips, top/bottom lip centre = the outer
 * edge of each lip on the mouth's axis.
 *
 * Faces come in small groups that share a synthetic "person" (proportions, skin, hair, eyes, background), so
 * group splits mean something; each face varies position, scale, in-plane rotation (σ 6°, at most 15°), yaw
 * (at most 18°, drawn as a foreshortening of each feature), gaze, expression, lighting, contrast, blur and
 * Gaussian noise. Keypoints are missing at about Kaggle's rate and pattern (see {@link SyntheticOptions}).
 *
 * @example
 * ```ts
 * import { syntheticDataset } from "./synthetic.ts";
 * const ds = syntheticDataset({ n: 500, seed: 1 });
 * console.log(ds.name); // "synthetic:500 (seed 1)"
 * ```
 *
 * @module
 */
import { IMAGE_SIZE, KEYPOINT_NAMES, NUM_COORDS } from "../core/constants.ts";
import { UsageError } from "../core/errors.ts";
import { Rng } from "../core/rng.ts";
import { PIXELS } from "../core/constants.ts";
import type { KeypointDataset } from "./types.ts";

/** Options of {@link syntheticDataset}. */
export interface SyntheticOptions {
  /** Number of faces (a positive integer). */
  n: number;
  /** Seed: equal seeds give identical datasets; the first k faces do not depend on `n`. Default 0. */
  seed?: number;
  /**
   * Share of faces with missing keypoints, in [0, 1]. Default {@link DEFAULT_MISSING_RATE} (Kaggle: 4909 of
   * 7049 rows). As in Kaggle, 97% of those faces keep only {@link CORE_KEYPOINTS}; the others lose one other
   * keypoint. Use 0 for all-complete faces.
   */
  missingRate?: number;
}

/** Kaggle's share of training rows with a missing keypoint (1 − 2140/7049), rounded. */
export const DEFAULT_MISSING_RATE = 0.7;

/** The 4 keypoints that (as in Kaggle) every face keeps. */
export const CORE_KEYPOINTS = [
  "left_eye_center",
  "right_eye_center",
  "nose_tip",
  "mouth_center_bottom_lip",
] as const;

/** Faces per synthetic person: 1 to this many, uniformly. */
const MAX_FACES_PER_PERSON = 8;
/** Of the faces with missing keypoints, the share that keep only the core 4 (Kaggle: 4765 of 4909). */
const CORE_ONLY_SHARE = 0.97;
/** Keypoints stay at least this far inside the image. */
const BORDER = 2;
const S = IMAGE_SIZE;

/**
 * Generates `n` synthetic faces (see the module doc), labelled `synthetic:N (seed S)` with `synthetic: true`,
 * ids `synthetic-<i>` and groups `synthetic-person-<k>`.
 *
 * @throws {UsageError} when `n` is not a positive integer, `seed` not an integer, or `missingRate` is
 * outside [0, 1].
 */
export function syntheticDataset(options: SyntheticOptions): KeypointDataset {
  const { n, seed = 0, missingRate = DEFAULT_MISSING_RATE } = options;
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`synthetic dataset: n must be a positive integer, got ${n}`);
  }
  if (!Number.isInteger(seed)) {
    throw new UsageError(`synthetic dataset: seed must be an integer, got ${seed}`);
  }
  if (!(missingRate >= 0 && missingRate <= 1)) {
    throw new UsageError(`synthetic dataset: missingRate must be in [0, 1], got ${missingRate}`);
  }
  const images = new Float32Array(n * PIXELS);
  const keypoints = new Float32Array(n * NUM_COORDS);
  const mask = new Uint8Array(n * NUM_COORDS);
  const ids: string[] = [];
  const groups: string[] = [];
  const people = new Rng(mix(seed, 0x5eed));
  const canvas = new Canvas();
  let person: Person | undefined;
  let personIndex = -1;
  let left = 0;
  for (let i = 0; i < n; i++) {
    if (left === 0) {
      personIndex++;
      left = 1 + people.int(MAX_FACES_PER_PERSON);
      person = makePerson(new Rng(mix(seed, personIndex, 1)));
    }
    left--;
    const kp = keypoints.subarray(i * NUM_COORDS, (i + 1) * NUM_COORDS);
    renderFace(canvas, person!, new Rng(mix(seed, i, 2)), kp);
    images.set(canvas.out, i * PIXELS);
    // A separate stream, so that the images do not depend on missingRate.
    dropKeypoints(kp, new Rng(mix(seed, i, 3)), missingRate);
    for (let c = 0; c < NUM_COORDS; c++) mask[i * NUM_COORDS + c] = Number.isNaN(kp[c]) ? 0 : 1;
    ids.push(`synthetic-${i}`);
    groups.push(`synthetic-person-${personIndex}`);
  }
  return { name: `synthetic:${n} (seed ${seed})`, synthetic: true, n, images, keypoints, mask, ids, groups };
}

/** A 32-bit hash of a few integers, to seed one independent stream per face and per person. */
function mix(...values: number[]): number {
  let h = 0x811c9dc5;
  for (const v of values) {
    h = Math.imul(h ^ (v | 0), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
  }
  return h | 0;
}

const CORE_INDICES = CORE_KEYPOINTS.map((k) => KEYPOINT_NAMES.indexOf(k));
const OTHER_INDICES = KEYPOINT_NAMES.map((_, k) => k).filter((k) => !CORE_INDICES.includes(k));

/** Blanks keypoints (NaN) the way Kaggle's training.csv lacks them. */
function dropKeypoints(kp: Float32Array, rng: Rng, missingRate: number): void {
  if (!rng.chance(missingRate)) return;
  const drop = rng.chance(CORE_ONLY_SHARE) ? OTHER_INDICES : [OTHER_INDICES[rng.int(OTHER_INDICES.length)]];
  for (const k of drop) kp[2 * k] = kp[2 * k + 1] = NaN;
}

// ---------------------------------------------------------------------------------------------------------
// Geometry: affine frames from a feature's own coordinates to image pixels.

/** `p = t + M q` from feature coordinates q to image pixels p, with its inverse. */
interface Frame {
  m00: number;
  m01: number;
  m10: number;
  m11: number;
  tx: number;
  ty: number;
  i00: number;
  i01: number;
  i10: number;
  i11: number;
  /** Pixels per feature unit (√|det M|), to turn feature-space distances into pixels. */
  scale: number;
}

function makeFrame(m00: number, m01: number, m10: number, m11: number, tx: number, ty: number): Frame {
  const det = m00 * m11 - m01 * m10;
  return {
    m00,
    m01,
    m10,
    m11,
    tx,
    ty,
    i00: m11 / det,
    i01: -m01 / det,
    i10: -m10 / det,
    i11: m00 / det,
    scale: Math.sqrt(Math.abs(det)),
  };
}

/** Writes the image position of feature point (x, y) into `kp` at keypoint `name`. */
function put(kp: Float32Array, name: typeof KEYPOINT_NAMES[number], fr: Frame, x: number, y: number): void {
  const k = KEYPOINT_NAMES.indexOf(name);
  kp[2 * k] = fr.tx + fr.m00 * x + fr.m01 * y;
  kp[2 * k + 1] = fr.ty + fr.m10 * x + fr.m11 * y;
}

/** 2×2 matrix as [a, b, c, d] = [[a, b], [c, d]]. */
type Mat = [number, number, number, number];
const mul = (p: Mat, q: Mat): Mat => [
  p[0] * q[0] + p[1] * q[2],
  p[0] * q[1] + p[1] * q[3],
  p[2] * q[0] + p[3] * q[2],
  p[2] * q[1] + p[3] * q[3],
];
const rot = (a: number): Mat => [Math.cos(a), -Math.sin(a), Math.sin(a), Math.cos(a)];
const FLIP_X: Mat = [-1, 0, 0, 1];
const IDENTITY: Mat = [1, 0, 0, 1];

/**
 * Where the face is: canonical face coordinates (pixels of a 96-pixel Kaggle-like crop, origin at the image
 * centre, y down) → image, through a yaw about the vertical axis of the head ellipsoid (orthographic), then
 * scale, in-plane rotation and translation.
 */
class Pose {
  constructor(
    readonly person: Person,
    readonly s: number,
    readonly angle: number,
    readonly yaw: number,
    readonly cx: number,
    readonly cy: number,
  ) {}

  /** Depth of the face surface at canonical (x, y) and its x-slope. */
  depth(x: number, y: number): [number, number] {
    const { headA: a, headB: b, headCy, headD: d } = this.person;
    const u = x / a, v = (y - headCy) / b;
    const r = Math.max(0.05, 1 - u * u - v * v);
    return [d * Math.sqrt(r), -d * (x / (a * a)) / Math.sqrt(r)];
  }

  /**
   * The frame of a feature at canonical point (x, y), `extraDepth` in front of the face surface, whose own
   * coordinates map to canonical ones through `local`. The yaw is linearised at the feature: a horizontal
   * foreshortening `cos(yaw) + slope·sin(yaw)`.
   */
  feature(x: number, y: number, extraDepth: number, local: Mat): Frame {
    const [z, slope] = this.depth(x, y);
    const cy = Math.cos(this.yaw), sy = Math.sin(this.yaw);
    const k = Math.min(1.3, Math.max(0.35, cy + slope * sy));
    const xp = x * cy + (z + extraDepth) * sy;
    const r = rot(this.angle);
    const m = mul(mul([r[0] * this.s, r[1] * this.s, r[2] * this.s, r[3] * this.s], [k, 0, 0, 1]), local);
    const tx = this.cx + this.s * (r[0] * xp + r[1] * y);
    const ty = this.cy + this.s * (r[2] * xp + r[3] * y);
    return makeFrame(m[0], m[1], m[2], m[3], tx, ty);
  }

  /** The head outline's frame: the ellipsoid's silhouette stays centred on the rotation axis. */
  head(): Frame {
    const { headA: a, headD: d, headCy } = this.person;
    const cy = Math.cos(this.yaw), sy = Math.sin(this.yaw);
    const kx = Math.sqrt(cy * cy + (d / a) ** 2 * sy * sy);
    const r = rot(this.angle);
    const m = mul([r[0] * this.s, r[1] * this.s, r[2] * this.s, r[3] * this.s], [kx, 0, 0, 1]);
    return makeFrame(
      m[0],
      m[1],
      m[2],
      m[3],
      this.cx + this.s * r[1] * headCy,
      this.cy + this.s * r[3] * headCy,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// Drawing: signed distance fields composited with a one-pixel anti-aliasing ramp.

/** Signed distance in feature units, negative inside. */
type Sdf = (x: number, y: number) => number;
/** Value (albedo or shading) at a feature point. */
type Paint = number | ((x: number, y: number) => number);

/** The scratch buffers one face is drawn into. */
class Canvas {
  /** Surface brightness before lighting. */
  readonly albedo = new Float32Array(PIXELS);
  /** Lambert shading of the head and hair (1 elsewhere). */
  readonly shade = new Float32Array(PIXELS);
  readonly tmp = new Float32Array(PIXELS);
  /** The finished face in [0, 1]. */
  readonly out = new Float32Array(PIXELS);

  /**
   * Blends `value` over the shape `sdf` (feature space, bounded by `box` = [x0, y0, x1, y1]) with
   * coverage × `opacity`; where `shade` is given, blends it into the shading buffer with the same coverage.
   */
  fill(fr: Frame, box: Mat, sdf: Sdf, value: Paint, opacity = 1, shade?: Paint): void {
    const [x0, y0, x1, y1] = pixelBox(fr, box);
    const { albedo, shade: shadeBuf } = this;
    for (let py = y0; py <= y1; py++) {
      for (let px = x0; px <= x1; px++) {
        const dx = px - fr.tx, dy = py - fr.ty;
        const qx = fr.i00 * dx + fr.i01 * dy, qy = fr.i10 * dx + fr.i11 * dy;
        const cover = 0.5 - sdf(qx, qy) * fr.scale;
        if (cover <= 0) continue;
        const a = (cover >= 1 ? 1 : cover) * opacity;
        const k = py * S + px;
        const v = typeof value === "number" ? value : value(qx, qy);
        albedo[k] += (v - albedo[k]) * a;
        if (shade !== undefined) {
          const sv = typeof shade === "number" ? shade : shade(qx, qy);
          shadeBuf[k] += (sv - shadeBuf[k]) * a;
        }
      }
    }
  }

  /** Adds a soft Gaussian blob (σx, σy in feature units) of height `amount` to the albedo. */
  blob(fr: Frame, x: number, y: number, sx: number, sy: number, amount: number): void {
    const [x0, y0, x1, y1] = pixelBox(fr, [x - 3 * sx, y - 3 * sy, x + 3 * sx, y + 3 * sy]);
    for (let py = y0; py <= y1; py++) {
      for (let px = x0; px <= x1; px++) {
        const dx = px - fr.tx, dy = py - fr.ty;
        const u = (fr.i00 * dx + fr.i01 * dy - x) / sx, v = (fr.i10 * dx + fr.i11 * dy - y) / sy;
        const g = u * u + v * v;
        if (g < 9) this.albedo[py * S + px] += amount * Math.exp(-0.5 * g);
      }
    }
  }
}

/** The pixel rectangle (clipped to the image, one pixel of margin) covering a feature-space box. */
function pixelBox(fr: Frame, [x0, y0, x1, y1]: Mat): Mat {
  let lx = Infinity, ly = Infinity, hx = -Infinity, hy = -Infinity;
  for (const [x, y] of [[x0, y0], [x1, y0], [x0, y1], [x1, y1]]) {
    const px = fr.tx + fr.m00 * x + fr.m01 * y, py = fr.ty + fr.m10 * x + fr.m11 * y;
    lx = Math.min(lx, px), ly = Math.min(ly, py), hx = Math.max(hx, px), hy = Math.max(hy, py);
  }
  return [
    Math.max(0, Math.floor(lx) - 1),
    Math.max(0, Math.floor(ly) - 1),
    Math.min(S - 1, Math.ceil(hx) + 1),
    Math.min(S - 1, Math.ceil(hy) + 1),
  ];
}

const dist = (x: number, y: number) => Math.sqrt(x * x + y * y);
const sq = (x: number) => x * x;

/** Approximate signed distance to an axis-aligned ellipse centred at the origin (first order, |f|/|∇f|). */
function ellipseSdf(x: number, y: number, a: number, b: number): number {
  const u = x / a, v = y / b;
  const gx = u / a, gy = v / b;
  const g = 2 * Math.sqrt(gx * gx + gy * gy);
  return g > 1e-9 ? (u * u + v * v - 1) / g : -Math.min(a, b);
}

// ---------------------------------------------------------------------------------------------------------
// People and faces.

/** What the faces of one synthetic person share. Lengths are canonical pixels (a 96-pixel crop). */
interface Person {
  skin: number;
  headA: number;
  headB: number;
  headD: number;
  headCy: number;
  chinTaper: number;
  hair: number;
  hairStyle: "none" | "short" | "long";
  hairline: number;
  hairTemple: number;
  eyeY: number;
  eyeHalfGap: number;
  eyeW: number;
  eyeUp: number;
  eyeDown: number;
  lidBulge: number;
  eyeTilt: number;
  irisR: number;
  iris: number;
  sclera: number;
  browInner: number;
  browOuter: number;
  browLift: number;
  browOuterDrop: number;
  browArch: number;
  browThick: number;
  browTaper: number;
  brow: number;
  noseY: number;
  noseW: number;
  noseDepth: number;
  mouthY: number;
  mouthW: number;
  lipTop: number;
  lipBottom: number;
  lipBow: number;
  lipDark: number;
  bg: [number, number];
  bgAngle: number;
}

function makePerson(r: Rng): Person {
  const headA = r.uniform(38, 45);
  const eyeW = r.uniform(5.8, 7.6);
  const hairRoll = r.next();
  return {
    skin: r.uniform(0.35, 0.85),
    headA,
    headB: headA * r.uniform(1.2, 1.36),
    headD: headA * r.uniform(0.8, 0.95),
    headCy: r.uniform(0, 6),
    chinTaper: r.uniform(0.1, 0.28),
    hair: r.uniform(0.03, 0.6),
    hairStyle: hairRoll < 0.1 ? "none" : hairRoll < 0.6 ? "short" : "long",
    hairline: r.uniform(-46, -33),
    hairTemple: r.uniform(12, 34),
    eyeY: r.normal(-11, 1.2),
    eyeHalfGap: r.uniform(16.5, 19.5),
    eyeW,
    eyeUp: eyeW * r.uniform(0.4, 0.55),
    eyeDown: eyeW * r.uniform(0.24, 0.36),
    lidBulge: r.uniform(0, 0.6),
    eyeTilt: r.uniform(-0.08, 0.12),
    irisR: eyeW * r.uniform(0.36, 0.44),
    iris: r.uniform(0.1, 0.45),
    sclera: r.uniform(0.65, 0.9),
    browInner: r.uniform(8.5, 11.5),
    browOuter: r.uniform(11, 15),
    browLift: r.uniform(6, 9),
    browOuterDrop: r.uniform(-1.5, 2),
    browArch: r.uniform(1.5, 4),
    browThick: r.uniform(2.2, 3.8),
    browTaper: r.uniform(0.35, 0.7),
    brow: r.uniform(0.1, 0.55),
    noseY: r.uniform(7, 12),
    noseW: r.uniform(3, 4.8),
    noseDepth: r.uniform(8, 13),
    mouthY: r.uniform(25, 30),
    mouthW: r.uniform(12, 16.5),
    lipTop: r.uniform(2.2, 4.2),
    lipBottom: r.uniform(3, 5.5),
    lipBow: r.uniform(0.1, 0.35),
    lipDark: r.uniform(0.22, 0.45),
    bg: [r.uniform(0.05, 0.95), r.uniform(0.05, 0.95)],
    bgAngle: r.uniform(0, 2 * Math.PI),
  };
}

/** Draws one face of `p` into `cv.out` and writes its 15 keypoints (image pixels) into `kp`. */
function renderFace(cv: Canvas, p: Person, r: Rng, kp: Float32Array): void {
  // Per-face variation: expression and gaze first, then a pose that keeps every keypoint in the image.
  const open = r.uniform(0.7, 1.1);
  const gaze = [r.uniform(-0.15, 0.15) * p.eyeW, r.uniform(-0.06, 0.06) * p.eyeW];
  const browRaise = r.uniform(-1, 1.5);
  const smile = r.uniform(-0.5, 2.5);
  const gap = r.chance(0.2) ? r.uniform(0.5, 3) : 0;
  let pose: Pose;
  for (let attempt = 0;; attempt++) {
    const shrink = Math.max(0.6, 1 - 0.02 * attempt);
    pose = new Pose(
      p,
      r.uniform(0.84, 1.1) * shrink,
      Math.max(-15, Math.min(15, r.normal(0, 6))) * Math.PI / 180,
      r.uniform(-18, 18) * Math.PI / 180,
      S / 2 - 0.5 + Math.max(-6, Math.min(6, r.normal(0, 2.5))),
      S / 2 - 0.5 + Math.max(-6, Math.min(6, r.normal(0, 2.5))),
    );
    // Re-centre so that the face (not the head's rotation axis) sits where the crop put it.
    const f = pose.feature(0, 0, 0, IDENTITY);
    pose = new Pose(p, pose.s, pose.angle, pose.yaw, 2 * pose.cx - f.tx, 2 * pose.cy - f.ty);
    faceKeypoints(pose, p, { open, gaze, browRaise, smile, gap }, kp);
    if (kp.every((v) => v >= BORDER && v <= S - 1 - BORDER)) break;
  }
  const light = r.uniform(0, 2 * Math.PI);
  const lightSide = r.uniform(0.2, 0.7);
  const look: Look = {
    open,
    gaze,
    browRaise,
    smile,
    gap,
    light: [Math.cos(light) * lightSide, Math.sin(light) * lightSide],
    ambient: r.uniform(0.35, 0.6),
  };
  drawBackground(cv, p, r);
  drawHead(cv, pose, p, look, r);
  drawEyes(cv, pose, p, look);
  drawBrows(cv, pose, p, look, r);
  drawNose(cv, pose, p, look);
  drawMouth(cv, pose, p, look);
  finish(cv, r, light, r.uniform(0, 0.35));
}

/** Per-face expression, gaze and lighting. */
interface Look {
  open: number;
  gaze: number[];
  browRaise: number;
  smile: number;
  gap: number;
  /** Light direction in the image plane (x, y), its depth component being 1. */
  light?: [number, number];
  ambient?: number;
}

/** The frames of the features: the keypoints and the drawing both come from here. */
function eyeFrame(pose: Pose, p: Person, side: 1 | -1): Frame {
  const local = mul(side === 1 ? IDENTITY : FLIP_X, rot(-p.eyeTilt));
  return pose.feature(side * p.eyeHalfGap, p.eyeY, -1.5, local);
}

function browFrame(pose: Pose, p: Person, look: Look, side: 1 | -1): [Frame, number] {
  const dx = p.browInner + p.browOuter, dy = p.browOuterDrop;
  const len = Math.hypot(dx, dy);
  const local = mul(side === 1 ? IDENTITY : FLIP_X, [dx / len, -dy / len, dy / len, dx / len]);
  const x = side * (p.eyeHalfGap - p.browInner), y = p.eyeY - p.browLift - look.browRaise;
  return [pose.feature(x, y, 0.5, local), len];
}

const noseFrame = (pose: Pose, p: Person) => pose.feature(0, p.noseY, p.noseDepth, IDENTITY);
const mouthFrame = (pose: Pose, p: Person) => pose.feature(0, p.mouthY, 1, IDENTITY);

function faceKeypoints(pose: Pose, p: Person, look: Look, kp: Float32Array): void {
  for (const side of [1, -1] as const) {
    const e = eyeFrame(pose, p, side);
    const l = side === 1 ? "left" : "right";
    put(kp, `${l}_eye_center`, e, look.gaze[0] * side, look.gaze[1]);
    put(kp, `${l}_eye_inner_corner`, e, -p.eyeW, 0);
    put(kp, `${l}_eye_outer_corner`, e, p.eyeW, 0);
    const [b, len] = browFrame(pose, p, look, side);
    put(kp, `${l}_eyebrow_inner_end`, b, 0, 0);
    put(kp, `${l}_eyebrow_outer_end`, b, len, 0);
  }
  put(kp, "nose_tip", noseFrame(pose, p), 0, 0);
  const m = mouthFrame(pose, p);
  put(kp, "mouth_left_corner", m, p.mouthW, 0);
  put(kp, "mouth_right_corner", m, -p.mouthW, 0);
  put(kp, "mouth_center_top_lip", m, 0, look.smile - p.lipTop * (1 - p.lipBow));
  put(kp, "mouth_center_bottom_lip", m, 0, look.smile + look.gap + p.lipBottom);
}

function drawBackground(cv: Canvas, p: Person, r: Rng): void {
  const [a, b] = [p.bg[0] + r.uniform(-0.05, 0.05), p.bg[1] + r.uniform(-0.05, 0.05)];
  const c = Math.cos(p.bgAngle), s = Math.sin(p.bgAngle);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const t = 0.5 + ((x - 47.5) * c + (y - 47.5) * s) / 96;
      cv.albedo[y * S + x] = a + (b - a) * t;
      cv.shade[y * S + x] = 1;
    }
  }
  // Soft clutter behind the person.
  const whole = makeFrame(1, 0, 0, 1, 0, 0);
  for (let k = 0; k < 2; k++) {
    cv.blob(
      whole,
      r.uniform(0, 96),
      r.uniform(0, 96),
      r.uniform(6, 20),
      r.uniform(6, 20),
      r.uniform(-0.2, 0.2),
    );
  }
}

function drawHead(cv: Canvas, pose: Pose, p: Person, look: Look, r: Rng): void {
  const h = pose.head();
  const { headA: a, headB: b } = p;
  const [lx, ly] = look.light!;
  const norm = Math.hypot(lx, ly, 1);
  const lambert = (u: number, v: number) => {
    const w = Math.sqrt(Math.max(0, 1 - u * u - v * v));
    return look.ambient! + (1 - look.ambient!) * Math.max(0, (u * lx + v * ly + w) / norm);
  };
  const headSdf: Sdf = (x, y) => ellipseSdf(x, y, a * (1 - p.chinTaper * sq(Math.max(0, y / b))), b);
  const headShade = (x: number, y: number) => lambert(x / a, y / b);
  const hairPhase = r.uniform(0, 6);
  const hairValue = (x: number, y: number) => p.hair + 0.04 * Math.sin(2.3 * x + 0.02 * y * y + hairPhase);
  if (p.hairStyle === "long") {
    const sdf: Sdf = (x, y) => Math.max(ellipseSdf(x, y + 0.1 * b, 1.22 * a, 1.05 * b), y - 0.75 * b);
    cv.fill(
      h,
      [-1.3 * a, -1.2 * b, 1.3 * a, 0.8 * b],
      sdf,
      hairValue,
      1,
      (x, y) => lambert(x / (1.3 * a), y / b),
    );
  }
  const neck: Sdf = (x, y) => Math.max(Math.abs(x) - 0.5 * a, 0.4 * b - y);
  cv.fill(h, [-0.6 * a, 0.3 * b, 0.6 * a, 2 * b], neck, p.skin * 0.8, 1, look.ambient! + 0.1);
  for (const side of [1, -1]) {
    const ear: Sdf = (x, y) => ellipseSdf(x - side * 0.96 * a, y - (p.eyeY + 7 - p.headCy), 5, 9.5);
    cv.fill(
      h,
      [side * 0.96 * a - 6, -25, side * 0.96 * a + 6, 25],
      ear,
      p.skin * 0.9,
      1,
      look.ambient! + 0.15,
    );
  }
  cv.fill(h, [-a, -b, a, b], headSdf, p.skin, 1, headShade);
  if (p.hairStyle !== "none") {
    const top = p.hairline - p.headCy;
    const sdf: Sdf = (x, y) =>
      Math.max(ellipseSdf(x, y + 0.06 * b, 1.07 * a, 1.02 * b), y - (top + p.hairTemple * sq(x / a)));
    cv.fill(
      h,
      [-1.1 * a, -1.1 * b, 1.1 * a, 0.2 * b],
      sdf,
      hairValue,
      1,
      (x, y) => lambert(x / (1.07 * a), y / b),
    );
  }
}

function drawEyes(cv: Canvas, pose: Pose, p: Person, look: Look): void {
  const w = p.eyeW, up = p.eyeUp * look.open, down = p.eyeDown * look.open, bulge = p.lidBulge;
  // Lid height profile: 1 at the centre, 0 at the corners with a finite slope (pointed corners).
  const lid = (x: number) => {
    const q = Math.max(0, 1 - (x / w) * (x / w));
    return q * (1 + bulge * (1 - q));
  };
  const eyeSdf: Sdf = (x, y) => Math.max(-up * lid(x) - y, y - down * lid(x), Math.abs(x) - w);
  const lash: Sdf = (x, y) => Math.max(Math.abs(y + up * lid(x)) - 0.35 - 0.35 * lid(x), Math.abs(x) - w);
  const lower: Sdf = (x, y) => Math.max(Math.abs(y - down * lid(x)) - 0.3, Math.abs(x) - w);
  const crease: Sdf = (x, y) =>
    Math.max(Math.abs(y + (up + 2.2) * lid(x * 0.9)) - 0.35, Math.abs(x) - 0.9 * w);
  const box: Mat = [-w - 1, -up - 4, w + 1, down + 1];
  for (const side of [1, -1] as const) {
    const f = eyeFrame(pose, p, side);
    const gx = look.gaze[0] * side, gy = look.gaze[1];
    cv.blob(f, 0, -1, w * 1.1, w * 0.8, -0.12 * p.skin);
    cv.fill(f, box, crease, p.skin * 0.6, 0.5);
    cv.fill(f, box, eyeSdf, p.sclera);
    const iris: Sdf = (x, y) => Math.max(dist(x - gx, y - gy) - p.irisR, eyeSdf(x, y));
    cv.fill(f, box, iris, (x, y) => p.iris * (0.8 + 0.4 * dist(x - gx, y - gy) / p.irisR));
    const pupil: Sdf = (x, y) => Math.max(dist(x - gx, y - gy) - 0.45 * p.irisR, eyeSdf(x, y));
    cv.fill(f, box, pupil, 0.03);
    // A catch-light off the pupil's centre, so the centre pixel stays dark.
    const hx = gx - 0.45 * p.irisR * side, hy = gy - 0.5 * p.irisR;
    const glint: Sdf = (x, y) => Math.max(dist(x - hx, y - hy) - 0.45, eyeSdf(x, y));
    cv.fill(f, box, glint, 0.95, 0.7);
    cv.fill(f, box, lash, 0.05, 0.9);
    cv.fill(f, box, lower, p.skin * 0.5, 0.35);
  }
}

function drawBrows(cv: Canvas, pose: Pose, p: Person, look: Look, r: Rng): void {
  const phase = r.uniform(0, 6);
  for (const side of [1, -1] as const) {
    const [f, len] = browFrame(pose, p, look, side);
    // Centre line from the inner end (0, 0) to the outer end (len, 0), arched up, peaking 60% along.
    const centre = (x: number) => -p.browArch * Math.sin(Math.PI * Math.max(0, Math.min(1, x / len)) ** 1.35);
    const sdf: Sdf = (x, y) =>
      Math.max(Math.abs(y - centre(x)) - 0.5 * p.browThick * (1 - (1 - p.browTaper) * x / len), -x, x - len);
    const value = (x: number, y: number) => p.brow * p.skin + 0.04 * Math.sin(2.5 * x - 1.2 * y + phase);
    cv.fill(f, [0, -p.browArch - p.browThick, len, p.browThick], sdf, value, 0.92);
  }
}

function drawNose(cv: Canvas, pose: Pose, p: Person, look: Look): void {
  const f = noseFrame(pose, p);
  const k = p.skin, w = p.noseW, side = look.light![0] > 0 ? -1 : 1;
  const length = p.noseY - p.eyeY;
  cv.blob(f, side * 2.6, -length / 2, 1.4, length / 2.5, -0.09 * k); // shadow along the bridge
  cv.blob(f, 0, -0.4, 2.2, 1.8, 0.1 * k); // the tip catches the light
  for (const s of [1, -1]) {
    cv.blob(f, s * w, 0.8, 1.5, 1.7, -0.12 * k); // alar creases
    const nostril: Sdf = (x, y) => ellipseSdf(x - s * 0.5 * w, y - 2.2, 1.4, 0.8);
    cv.fill(f, [-w, 0, w, 4], nostril, k * 0.3, 0.8);
  }
  cv.blob(f, 0, 4, 3.5, 1.3, -0.1 * k); // shadow under the nose
}

function drawMouth(cv: Canvas, pose: Pose, p: Person, look: Look): void {
  const f = mouthFrame(pose, p);
  const w = p.mouthW, c = look.smile, g = look.gap;
  const q = (x: number) => Math.max(0, 1 - sq(x / w));
  const line = (x: number) => c * q(x);
  const top = (x: number) =>
    line(x) - p.lipTop * q(x) ** 0.8 * (1 - p.lipBow * Math.exp(-((x / w / 0.13) ** 2)));
  const opening = (x: number) => line(x) + g * q(x);
  const bottom = (x: number) => opening(x) + p.lipBottom * q(x) ** 0.7;
  const side = (x: number) => Math.abs(x) - w;
  const lip = p.skin * (1 - p.lipDark);
  const box: Mat = [-w - 1, -p.lipTop - 1, w + 1, c + g + p.lipBottom + 1];
  cv.blob(f, 0, c + g + p.lipBottom + 2, 0.5 * w, 1.6, -0.08 * p.skin); // shadow under the lower lip
  cv.fill(f, box, (x, y) => Math.max(top(x) - y, y - line(x), side(x)), lip);
  cv.fill(f, box, (x, y) => Math.max(opening(x) - y, y - bottom(x), side(x)), p.skin * (1 - 0.7 * p.lipDark));
  cv.blob(f, 0, c + g + 0.55 * p.lipBottom, 0.35 * w, 0.3 * p.lipBottom, 0.06 * p.skin); // lower-lip sheen
  if (g > 0) cv.fill(f, box, (x, y) => Math.max(line(x) - y, y - opening(x), side(x)), 0.06);
  cv.fill(f, box, (x, y) => Math.max(Math.abs(y - line(x)) - 0.45, side(x)), 0.08, 0.9);
  for (const s of [1, -1]) cv.blob(f, s * w, 0, 1.2, 1.2, -0.12 * p.skin); // the corners' dimples
}

/** Lighting gradient, contrast, brightness, blur and noise, into `cv.out` clipped to [0, 1]. */
function finish(cv: Canvas, r: Rng, lightAngle: number, gradient: number): void {
  const contrast = r.uniform(0.7, 1.25), brightness = r.uniform(-0.08, 0.08);
  const blur = r.uniform(0, 0.6), noise = r.uniform(0.005, 0.035);
  const c = Math.cos(lightAngle) * gradient / 96, s = Math.sin(lightAngle) * gradient / 96;
  const { albedo, shade, tmp, out } = cv;
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const k = y * S + x;
      const v = albedo[k] * shade[k] * (1 + (x - 47.5) * c + (y - 47.5) * s);
      tmp[k] = 0.5 + (v - 0.5) * contrast + brightness;
    }
  }
  // A 3×3 blur of random strength (edges clamped): real crops are rarely sharp.
  for (let y = 0; y < S; y++) {
    const up = (y === 0 ? 0 : y - 1) * S, mid = y * S, down = (y === S - 1 ? y : y + 1) * S;
    for (let x = 0; x < S; x++) {
      const l = x === 0 ? 0 : x - 1, rr = x === S - 1 ? x : x + 1;
      const sum = tmp[up + l] + tmp[up + x] + tmp[up + rr] + tmp[mid + l] + tmp[mid + x] + tmp[mid + rr] +
        tmp[down + l] + tmp[down + x] + tmp[down + rr];
      const k = mid + x;
      // Irwin–Hall: four uniforms make a near-Gaussian at a fraction of Box–Muller's cost.
      const gauss = (r.next() + r.next() + r.next() + r.next() - 2) * Math.sqrt(3);
      const v = tmp[k] + (sum / 9 - tmp[k]) * blur + gauss * noise;
      out[k] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
}
