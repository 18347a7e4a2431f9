// %% [markdown]
// # 2 · Data augmentation
//
// The thesis enlarges the training set with flipped, rotated, shifted and re-lit copies of each face. Each
// transform here moves the keypoints together with the pixels; a horizontal flip also swaps left and right
// keypoints (watch the colours: the subject's left stays orange).
//
// The first cell picks the dataset (`FKD_DATA=<dataset spec>`, else Kaggle's `data/training.csv` where it
// exists, else the **synthetic** embedded default) and the mode: `--quick` runs a small subset and 1–2
// epochs, a full run all faces until validation stops improving (see the README).

// %%
import { setupNotebook } from "../lib/notebook.ts";
const nb = await setupNotebook("02");
nb;

// %% [markdown]
// ## Why a flip must swap left and right (the thesis's misalignment figure)
//
// Mirroring a face moves its left eye to where the right eye was. If only the x coordinates are mirrored,
// the point labelled *left eye* now sits on the subject's right eye: the colours (subject's left in orange)
// land on the wrong side, and a model trained on such copies learns to confuse the two. Swapping each
// left/right pair after mirroring (right panel) keeps every label on its feature.

// %%
import { beforeAfter, firstCompleteFace, flipMisalignment } from "../lib/viz/thesis_figures.ts";
const complete = firstCompleteFace(nb.ds);
const shown = nb.face(nb.ds, complete);
await nb.faces("flip_misalignment", flipMisalignment(shown.image, shown.keypoints!), {
  columns: 3,
  scale: 3,
});

// %% [markdown]
// ## Each transform on a few faces
//
// The top row of each figure is the original, the bottom row the transformed face (probability 1, so every
// face is changed).

// %%
import * as A from "../lib/augment/mod.ts";
const faces = Array.from({ length: Math.min(3, nb.ds.n) }, (_, i) => i);
const show = (name: string, aug: A.Augmenter) =>
  nb.faces(`augment_${name}`, beforeAfter(nb.ds, faces, aug, name), { columns: faces.length, scale: 2 });
await show("flip", A.compose([A.horizontalFlip({ p: 1 })]));

// %%
await show("rotate", A.compose([A.rotate({ p: 1, limit: 20 })], { fill: "edge" }));

// %%
await show("scale", A.compose([A.scale({ p: 1, range: [0.8, 1.2] })], { fill: "edge" }));

// %%
await show("shift", A.compose([A.shift({ p: 1, limit: 0.12 })], { fill: "edge" }));

// %%
await show("brightness", A.compose([A.brightness({ p: 1, limit: 0.25 })]));

// %%
await show("contrast", A.compose([A.contrast({ p: 1, range: [0.6, 1.4] })]));

// %%
await show("gamma", A.compose([A.gamma({ p: 1, range: [0.6, 1.6] })]));

// %%
await show("noise", A.compose([A.gaussianNoise({ p: 1, std: [0.03, 0.06] })]));

// %%
await show("blur", A.compose([A.gaussianBlur({ p: 1, sigma: [0.8, 1.5] })]));

// %% [markdown]
// ## The default augmentation
//
// What the training loop applies on the fly to every batch (each transform with probability 0.5):

// %%
const aug = A.defaultAugmentation();
console.log(aug.describe());
await show("default", aug);

// %% [markdown]
// ## The expanded dataset
//
// The thesis expanded the data set offline: each face plus augmented copies.

// %%
import { md } from "../lib/notebook.ts";
const copies = nb.pick(3, 1);
const expanded = A.expandDataset(nb.ds, aug, copies, 0);
md(
  `**${nb.ds.n}** faces + ${copies} augmented ${
    copies === 1 ? "copy" : "copies"
  } each → **${expanded.n}** faces ` +
    `(\`${expanded.name}\`).`,
);

// %%
await nb.faces(
  "expanded_samples",
  [0, nb.ds.n, ...(copies > 1 ? [2 * nb.ds.n] : [])].flatMap((o) =>
    [0, 1, 2, 3].filter((i) => i < nb.ds.n).map((i) =>
      nb.face(expanded, o + i, o === 0 ? "original" : "copy")
    )
  ),
  { columns: 4, scale: 2 },
);

// %%
await nb.close();
