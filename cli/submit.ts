/**
 * `deno task submit --model DIR --test data/test.csv --out submission.csv [--lookup IdLookupTable.csv]`:
 * a Kaggle submission from a trained model (see lib/submission_io.ts). The lookup table is Kaggle's
 * competition data: by default `data/IdLookupTable.csv`, else `../shared/data/kaggle/IdLookupTable.csv`.
 *
 * Exit codes: 0 done, 1 failure, 2 bad input (no such model or file, a bad row, a bad option).
 *
 * @module
 */
import { BACKEND_ARG } from "./backend_arg.ts";
import { parseArgs, runCli, usage } from "./args.ts";
import { initBackend } from "../lib/backend_io.ts";
import { makeSubmission } from "../lib/submission_io.ts";

const SPEC = {
  model: { type: "string", required: true, description: "model folder (as written by deno task train)" },
  test: { type: "string", required: true, description: "Kaggle's test.csv (ImageId,Image)" },
  out: { type: "string", required: true, description: "submission file to write (RowId,Location)" },
  lookup: {
    type: "string",
    description: "Kaggle's IdLookupTable.csv (default: data/, then ../shared/data/kaggle/)",
  },
  backend: BACKEND_ARG,
} as const;

async function main(): Promise<void> {
  const args = parseArgs(Deno.args, SPEC);
  if (args.help) {
    console.log(usage("deno task submit", "Writes a Kaggle submission from a trained model.", SPEC));
    return;
  }
  await initBackend({ backend: args.backend });
  const s = await makeSubmission({ model: args.model, test: args.test, out: args.out, lookup: args.lookup });
  console.log(`${s.model}: ${s.faces} test faces → ${s.rows} rows in ${s.out} (lookup ${s.lookup})`);
}

if (import.meta.main) await runCli(main);
