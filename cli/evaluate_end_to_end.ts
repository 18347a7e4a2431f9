/**
 * End-to-end evaluation (detect → crop → predict → compare in the photo's pixels) for datasets with
 * ground-truth landmarks: `deno run -A cli/evaluate_end_to_end.ts --model DIR --data DATASET [--json]`,
 * and the pieces `deno task evaluate --end-to-end` uses. The computation is `lib/end_to_end.ts`.
 *
 * With `--json`, one object on stdout: `{"n", "detected", "nme", "failure_rate_10", "ms_per_image"}`
 * (null where a number cannot be measured); else a markdown table.
 *
 * Exit codes: 0 done, 1 failure, 2 bad input.
 *
 * @module
 */
import { parseArgs, runCli, usage } from "./args.ts";
import { BACKEND_NAMES, initBackend } from "../lib/backend.ts";
import { DATASET_SPEC_HELP, loadDataset } from "../lib/data/spec.ts";
import { createFaceDetector, type FaceDetectorOptions } from "../lib/detect.ts";
import { type EndToEndReport, evaluateEndToEnd } from "../lib/end_to_end.ts";
import { loadKeypointModel } from "../lib/models/mod.ts";

export { type EndToEndReport, evaluateEndToEnd } from "../lib/end_to_end.ts";

/** What {@link runEndToEnd} needs: the model, the dataset spec, and optional detector / crop settings. */
export interface EndToEndCommandOptions {
  model: string;
  data: string;
  limit?: number;
  margin?: number;
  detector?: FaceDetectorOptions;
  /** Progress on stderr (default: when stderr is a terminal). */
  progress?: boolean;
}

/**
 * Loads the model and dataset, evaluates end to end, and frees the model. The tfjs backend must already be
 * started (`initBackend`).
 */
export async function runEndToEnd(opts: EndToEndCommandOptions): Promise<EndToEndReport & { data: string }> {
  const predictor = await loadKeypointModel(opts.model);
  const ds = await loadDataset(opts.data, { limit: opts.limit });
  const detector = await createFaceDetector(opts.detector);
  const show = opts.progress ?? Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  try {
    const report = await evaluateEndToEnd(detector, predictor, ds, {
      margin: opts.margin,
      onProgress: show
        ? (done, total) =>
          Deno.stderr.writeSync(encoder.encode(`\r  ${done}/${total} images${done === total ? "\n" : ""}`))
        : undefined,
    });
    return { data: ds.name, ...report };
  } finally {
    detector.close();
    predictor.model.dispose();
  }
}

/** The report as one JSON line (NaN as null). */
export function endToEndJson(report: EndToEndReport): string {
  const { n, detected, nme, failure_rate_10, ms_per_image } = report;
  const num = (v: number) => Number.isFinite(v) ? v : null;
  return JSON.stringify({
    n,
    detected,
    nme: num(nme),
    failure_rate_10: num(failure_rate_10),
    ms_per_image: num(ms_per_image),
  });
}

/** The report as a markdown table. */
export function endToEndTable(report: EndToEndReport & { data?: string }): string {
  const pct = (v: number) => Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "n/a";
  const rows = [
    ["images", String(report.n)],
    ["detected", `${report.detected} (${pct(report.detected / report.n)})`],
    ["NME (outer eye corners)", Number.isFinite(report.nme) ? report.nme.toFixed(4) : "n/a"],
    ["failure rate (NME > 0.10 or missed)", pct(report.failure_rate_10)],
    ["time per image", `${report.ms_per_image.toFixed(1)} ms`],
  ];
  const head = report.data ? `${report.data}, end to end\n\n` : "";
  return head + "| metric | value |\n|---|---|\n" + rows.map(([k, v]) => `| ${k} | ${v} |`).join("\n");
}

const SPEC = {
  model: { type: "string", required: true, description: "model folder (as written by deno task train)" },
  data: {
    type: "string",
    required: true,
    description: "a 68-landmark folder[:training|:test] or a 300-W folder",
  },
  json: { type: "boolean", description: "print one JSON object instead of a table" },
  limit: { type: "number", integer: true, min: 1, description: "evaluate at most N images" },
  margin: { type: "number", min: 0, max: 2, description: "crop margin (default as in training, 0.25)" },
  backend: { type: "string", choices: BACKEND_NAMES, description: "tfjs backend (default: best found)" },
} as const;

async function main(): Promise<void> {
  const args = parseArgs(Deno.args, SPEC);
  if (args.help) {
    console.log(usage("deno run -A cli/evaluate_end_to_end.ts", "Detect, predict, compare.", SPEC));
    console.log(DATASET_SPEC_HELP);
    return;
  }
  await initBackend({ backend: args.backend });
  const report = await runEndToEnd({
    model: args.model,
    data: args.data,
    limit: args.limit,
    margin: args.margin,
  });
  console.log(args.json ? endToEndJson(report) : endToEndTable(report));
}

if (import.meta.main) await runCli(main);
