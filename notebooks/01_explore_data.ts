// %% [markdown]
// # 1 · Exploring the data
//
// The thesis trains on Kaggle's *Facial Keypoints Detection* data: 96×96 grayscale faces with up to 15
// labelled keypoints. This notebook looks at what we have: how many faces, which keypoints are missing, where
// the keypoints lie in the frame, and the mean face.
//
// The first cell picks the dataset (`FKD_DATA=<dataset spec>`, else Kaggle's `data/training.csv` where it
// exists, else the **synthetic** embedded default) and the mode: `--quick` runs a small subset and 1–2
// epochs, a full run all faces until validation stops improving (see the README).

// %%
import { setupNotebook } from "../lib/notebook.ts";
const nb = await setupNotebook("01");
nb;

// %% [markdown]
// ## Missing keypoints
//
// Kaggle's training file labels all 15 keypoints on only 2140 of its 7049 faces; most others have just the
// eye centres, nose tip and bottom lip. The training loop masks missing coordinates out of the loss instead
// of dropping those faces.

// %%
import {
  keypointDensity,
  keypointScatter,
  keypointsPerFaceChart,
  meanFaceFigure,
  missingKeypointsChart,
} from "../lib/viz/figures.ts";
await nb.figure(missingKeypointsChart(nb.ds), "missing_keypoints");

// %%
await nb.figure(keypointsPerFaceChart(nb.ds), "keypoints_per_face");

// %% [markdown]
// ## Sample faces
//
// Keypoints are coloured by side: the subject's left in orange, right in cyan, the midline (nose, lips) in
// magenta. The subject's left eye appears on the image's right.

// %%
const sample = Array.from({ length: Math.min(8, nb.ds.n) }, (_, i) => nb.face(nb.ds, i, `face ${i}`));
await nb.faces("sample_faces", sample, { columns: 8, scale: 2 });

// %% [markdown]
// ## Where the keypoints lie
//
// Every labelled keypoint over the 96×96 frame (y grows downwards, as in the images), then the same as a
// density.

// %%
await nb.figure(keypointScatter(nb.ds, { maxFaces: 400 }), "keypoint_scatter");

// %%
await nb.figure(keypointDensity(nb.ds), "keypoint_density");

// %% [markdown]
// ## The mean face
//
// The pixel-wise mean of all faces, with the mean position of each keypoint on top.

// %%
await nb.figure(meanFaceFigure(nb.ds), "mean_face");

// %% [markdown]
// ## The real Kaggle labels
//
// Where the label-only copy of Kaggle's `training.csv` is at hand (`../shared/data/kaggle/`), its real
// missingness, whatever dataset the notebook runs on.

// %%
import { md } from "../lib/notebook.ts";
const kaggle = await nb.kaggleLabels();
kaggle
  ? await nb.figure(missingKeypointsChart(kaggle), "kaggle_missing_keypoints")
  : md("The Kaggle label file is not here (`../shared/data/kaggle/`): skipped.");

// %%
kaggle ? await nb.figure(keypointsPerFaceChart(kaggle), "kaggle_keypoints_per_face") : md("skipped");

// %%
await nb.close();
