/**
 * `deno task bench`: runs every benchmark module under `bench/` and prints their tables.
 *
 * Each benchmark exports `run(flags): Promise<string>` returning a markdown table. Name some to run only
 * those: `deno task bench csv train`; `--` flags go to each named benchmark (`deno task bench train
 * --vs-pytorch`).
 *
 * @module
 */

const BENCHES = [
  "csv",
  "augment",
  "train",
  "kernels",
  "video",
  "framing",
  "detectors",
  "calibration",
] as const;

async function main(args: string[]): Promise<void> {
  // Flags and their numeric values (`--rounds 5`) go to the benchmarks; the other words name them.
  const names = args.filter((a) => !a.startsWith("--") && Number.isNaN(Number(a)));
  const flags = args.filter((a) => !names.includes(a));
  const picked = names.length ? names : [...BENCHES];
  for (const name of picked) {
    if (!(BENCHES as readonly string[]).includes(name)) {
      console.error(`unknown benchmark "${name}"; known: ${BENCHES.join(", ")}`);
      Deno.exit(2);
    }
  }
  console.log(`# Benchmarks (${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores)\n`);
  for (const name of picked) {
    const mod = await import(`./${name}_bench.ts`);
    console.log(`## ${name}\n`);
    console.log(await mod.run(flags));
    console.log();
  }
}

if (import.meta.main) await main(Deno.args);
