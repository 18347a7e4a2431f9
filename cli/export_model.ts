/**
 * `deno task export-model --model DIR --out DIR [--float16]`: copies a trained model folder, optionally
 * storing its weights as float16 (half the size, still loadable by `tf.loadLayersModel`). This is how the
 * bundled `outputs/models/default` was made from a training run.
 *
 * Exit codes: 0 done, 2 bad input (no such model folder, bad option).
 *
 * @module
 */
import { parseArgs, runCli, usage } from "./args.ts";
import { exportKeypointModel } from "../lib/models/folder_io.ts";

const SPEC = {
  model: {
    type: "string",
    required: true,
    description: "model folder to export (as written by deno task train)",
  },
  out: { type: "string", required: true, description: "folder to write (replaced atomically)" },
  float16: { type: "boolean", description: "store the weights as float16" },
} as const;

async function main(): Promise<void> {
  const args = parseArgs(Deno.args, SPEC);
  if (args.help) {
    console.log(
      usage("deno task export-model", "Copies a model folder, optionally with float16 weights.", SPEC),
    );
    return;
  }
  const meta = await exportKeypointModel(args.model, args.out, { float16: args.float16 });
  let bytes = 0;
  for await (const e of Deno.readDir(args.out)) {
    if (e.isFile) bytes += (await Deno.stat(`${args.out}/${e.name}`)).size;
  }
  console.log(
    `${meta.model} → ${args.out} (${meta.export?.weights} weights, ${(bytes / 2 ** 20).toFixed(1)} MiB)`,
  );
}

if (import.meta.main) await runCli(main);
