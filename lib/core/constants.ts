/**
 * The keypoint vocabulary shared by every module: names in Kaggle's column order, the side of the face
 * each is on and one colour per side, the left/right pairs that swap under a horizontal flip, and the map
 * from the 68-point iBUG layout to the 15 Kaggle points.
 *
 * "Left" and "right" are the subject's: `left_eye_center` lies on the image's right-hand side.
 *
 * @module
 */

/** Side of the square model input, in pixels (the Kaggle images are 96×96 grayscale). */
export const IMAGE_SIZE = 96;

/** Pixels of one face (96 × 96). */
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;

/** Number of keypoints the models predict. */
export const NUM_KEYPOINTS = 15;

/** The 15 keypoint names in Kaggle's column order. */
export const KEYPOINT_NAMES = [
  "left_eye_center",
  "right_eye_center",
  "left_eye_inner_corner",
  "left_eye_outer_corner",
  "right_eye_inner_corner",
  "right_eye_outer_corner",
  "left_eyebrow_inner_end",
  "left_eyebrow_outer_end",
  "right_eyebrow_inner_end",
  "right_eyebrow_outer_end",
  "nose_tip",
  "mouth_left_corner",
  "mouth_right_corner",
  "mouth_center_top_lip",
  "mouth_center_bottom_lip",
] as const;

/** One of the 15 keypoint names. */
export type KeypointName = typeof KEYPOINT_NAMES[number];

/** Which side of the subject's face a keypoint is on; "left" is the subject's left (the image's right). */
export type KeypointSide = "left" | "right" | "centre";

/** The side of each keypoint: the one table that drawings and flips read. */
export const KEYPOINT_SIDE: Readonly<Record<KeypointName, KeypointSide>> = {
  left_eye_center: "left",
  right_eye_center: "right",
  left_eye_inner_corner: "left",
  left_eye_outer_corner: "left",
  right_eye_inner_corner: "right",
  right_eye_outer_corner: "right",
  left_eyebrow_inner_end: "left",
  left_eyebrow_outer_end: "left",
  right_eyebrow_inner_end: "right",
  right_eyebrow_outer_end: "right",
  nose_tip: "centre",
  mouth_left_corner: "left",
  mouth_right_corner: "right",
  mouth_center_top_lip: "centre",
  mouth_center_bottom_lip: "centre",
};

/** {@link KEYPOINT_SIDE} in {@link KEYPOINT_NAMES} order. */
export const KEYPOINT_SIDES: readonly KeypointSide[] = KEYPOINT_NAMES.map((n) => KEYPOINT_SIDE[n]);

/**
 * The one colour of each side, used by every drawing (face grids, annotated photos and videos, the camera
 * page): the subject's left orange, right cyan, midline (nose, lips) magenta.
 */
export const SIDE_COLOURS: Readonly<Record<KeypointSide, string>> = {
  left: "#ff8c1a",
  right: "#1ad1ff",
  centre: "#ff33cc",
};

/** The 30 coordinate columns of Kaggle's training.csv: `<name>_x, <name>_y` for each keypoint in order. */
export const KEYPOINT_COLUMNS: readonly string[] = KEYPOINT_NAMES.flatMap((n) => [`${n}_x`, `${n}_y`]);

/** Number of coordinates per face (x and y of each keypoint). */
export const NUM_COORDS = NUM_KEYPOINTS * 2;

/** The 6 left/right keypoint pairs (indices into {@link KEYPOINT_NAMES}) that swap under a horizontal flip. */
export const FLIP_KEYPOINT_PAIRS: readonly (readonly [number, number])[] = [
  [0, 1], // eye centres
  [2, 4], // inner eye corners
  [3, 5], // outer eye corners
  [6, 8], // inner eyebrow ends
  [7, 9], // outer eyebrow ends
  [11, 12], // mouth corners
];

/** The 12 left/right column pairs (indices into {@link KEYPOINT_COLUMNS}) that swap under a horizontal flip. */
export const FLIP_COLUMN_PAIRS: readonly (readonly [number, number])[] = FLIP_KEYPOINT_PAIRS.flatMap((
  [a, b],
) => [[2 * a, 2 * b] as const, [2 * a + 1, 2 * b + 1] as const]);

/**
 * How each of the 15 keypoints is computed from the 68 iBUG landmarks (0-based): the mean of the listed
 * landmark indices. iBUG numbers landmarks from the image's left, so the subject's right eye is 36..41.
 */
export const IBUG68_TO_KAGGLE15: Readonly<Record<KeypointName, readonly number[]>> = {
  left_eye_center: [42, 43, 44, 45, 46, 47],
  right_eye_center: [36, 37, 38, 39, 40, 41],
  left_eye_inner_corner: [42],
  left_eye_outer_corner: [45],
  right_eye_inner_corner: [39],
  right_eye_outer_corner: [36],
  left_eyebrow_inner_end: [22],
  left_eyebrow_outer_end: [26],
  right_eyebrow_inner_end: [21],
  right_eyebrow_outer_end: [17],
  nose_tip: [30],
  mouth_left_corner: [54],
  mouth_right_corner: [48],
  mouth_center_top_lip: [51],
  mouth_center_bottom_lip: [57],
};

/** Number of landmarks in the iBUG / 300-W layout. */
export const NUM_LANDMARKS_68 = 68;

/** 68-point indices of the outer eye corners (subject's right, subject's left): the NME normaliser. */
export const IBUG68_OUTER_EYE_CORNERS = [36, 45] as const;

/** Keypoint indices of the outer eye corners in the 15-point layout (the NME normaliser). */
export const OUTER_EYE_CORNERS = [5, 3] as const;
