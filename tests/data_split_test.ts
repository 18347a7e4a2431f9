import assert from "node:assert/strict";
import { groupOf, groupSplit, randomSplit } from "../lib/data/split.ts";
import { syntheticDataset } from "../lib/data/synthetic.ts";
import { PIXELS } from "../lib/core/constants.ts";
import type { KeypointDataset } from "../lib/data/types.ts";
import { UsageError } from "../lib/core/errors.ts";

const ds = syntheticDataset({ n: 120, seed: 9 });
const isUsage = (text: string) => (e: unknown) => e instanceof UsageError && e.message.includes(text);

/** Index of each face of a split side in `ds`, found by its id. */
const indices = (side: KeypointDataset) => side.ids!.map((id) => ds.ids!.indexOf(id));

Deno.test("randomSplit: sizes, disjoint sides covering every face, copied rows, seeded", () => {
  const { train, validation } = randomSplit(ds, { validation: 0.25, seed: 1 });
  assert.equal(validation.n, 30);
  assert.equal(train.n, 90);
  const all = [...indices(train), ...indices(validation)].sort((a, b) => a - b);
  assert.deepStrictEqual(all, Array.from({ length: 120 }, (_, i) => i));
  // Each side keeps the original order, and its rows are the original rows.
  const v = indices(validation);
  assert.deepStrictEqual(v, [...v].sort((a, b) => a - b));
  assert.deepStrictEqual(
    validation.images.subarray(0, PIXELS),
    ds.images.subarray(v[0] * PIXELS, (v[0] + 1) * PIXELS),
  );
  assert.deepStrictEqual(
    validation.keypoints.subarray(0, 30),
    ds.keypoints.subarray(v[0] * 30, v[0] * 30 + 30),
  );
  assert.equal(validation.synthetic, true);
  assert.match(validation.name, /^synthetic:120 \(seed 9\) \[validation/);

  assert.deepStrictEqual(indices(randomSplit(ds, { validation: 0.25, seed: 1 }).validation), v);
  assert.notDeepStrictEqual(indices(randomSplit(ds, { validation: 0.25, seed: 2 }).validation), v);
  assert.equal(randomSplit(ds).validation.n, 24); // default 0.2
  assert.equal(randomSplit(ds, { validation: 0 }).validation.n, 0);
});

Deno.test("groupSplit: no group on both sides, share near the request, over several seeds", () => {
  const groups = new Set(ds.groups);
  assert.ok(groups.size > 10 && groups.size < 120, `${groups.size} groups`);
  const seen = new Set<string>();
  for (let seed = 0; seed < 12; seed++) {
    const { train, validation } = groupSplit(ds, { validation: 0.2, seed });
    assert.equal(train.n + validation.n, ds.n);
    const trainGroups = new Set(train.groups);
    for (const g of validation.groups!) {
      assert.ok(!trainGroups.has(g), `seed ${seed}: group ${g} on both sides`);
    }
    // Groups hold 1..8 faces, so the greedy choice lands within one group of the target.
    assert.ok(Math.abs(validation.n - 24) <= 8, `seed ${seed}: ${validation.n} validation faces`);
    assert.ok(validation.n > 0 && train.n > 0);
    seen.add(validation.groups!.join());
  }
  assert.ok(seen.size > 6, "different seeds choose different groups");
  assert.deepStrictEqual(
    groupSplit(ds, { seed: 3 }).validation.ids,
    groupSplit(ds, { seed: 3 }).validation.ids,
  );
});

Deno.test("groupSplit: a frame-level group per YouTube-Faces person", () => {
  const names = [
    "Al_Gore_00.jpg",
    "Al_Gore_01.jpg",
    "Al_Gore_12.jpg",
    "Bo_Derek_03.jpg",
    "Bo_Derek_04.jpg",
    "Cher_1.jpg",
  ];
  const small = syntheticDataset({ n: names.length, seed: 1 });
  const people = { ...small, groups: names.map(groupOf), ids: names };
  for (let seed = 0; seed < 8; seed++) {
    const { train, validation } = groupSplit(people, { validation: 0.4, seed });
    for (const g of validation.groups!) assert.ok(!train.groups!.includes(g));
    assert.ok(validation.n >= 1 && train.n >= 1);
  }
});

Deno.test("groupSplit: a dataset without groups, or with one, is a usage error", () => {
  const { groups: _, ...noGroups } = ds;
  assert.throws(() => groupSplit(noGroups), isUsage("has no groups"));
  assert.throws(() => groupSplit({ ...ds, groups: ds.groups!.map(() => "one") }), isUsage("at least 2"));
  assert.throws(() => randomSplit(ds, { validation: 1 }), isUsage("validation share"));
  assert.throws(() => randomSplit(ds, { validation: -0.1 }), isUsage("validation share"));
  assert.throws(() => groupSplit(ds, { seed: 1.5 }), isUsage("seed"));
});

Deno.test("groupOf: YouTube-Faces file names to the person", () => {
  assert.equal(groupOf("Abdel_Aziz_Al-Hakim_02.jpg"), "Abdel_Aziz_Al-Hakim");
  assert.equal(groupOf("training/Luis_Fonsi_21.jpg"), "Luis_Fonsi");
  assert.equal(groupOf("C:\\data\\test\\Lincoln_Chafee_52.png"), "Lincoln_Chafee");
  assert.equal(groupOf("Madonna.jpg"), "Madonna");
  assert.equal(groupOf("Person_2004_10.jpg"), "Person_2004");
  assert.notEqual(groupOf("Al_Gore_00.jpg"), groupOf("Al_Green_00.jpg"));
});
