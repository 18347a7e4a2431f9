import assert from "node:assert/strict";
import { parseArgs, usage } from "../cli/args.ts";
import { UsageError } from "../lib/core/errors.ts";

const usageError = (text: string) => (e: unknown) => e instanceof UsageError && e.message.includes(text);

Deno.test("parseArgs: typed values, --no-flag, --name=value, and UsageErrors", () => {
  const spec = {
    model: { type: "string", choices: ["a", "b"], required: true, description: "" },
    epochs: { type: "number", integer: true, min: 1, default: 30, description: "" },
    augment: { type: "boolean", default: true, description: "" },
    out: { type: "string", description: "" },
  } as const;
  const args = parseArgs(["--model", "b", "--epochs=3", "--no-augment"], spec);
  assert.deepEqual(args, { help: false, model: "b", epochs: 3, augment: false, out: undefined });
  const lr = { lr: { type: "number", description: "" } } as const;
  assert.deepEqual([parseArgs(["--lr", "1e-3"], lr).lr, parseArgs(["--lr", "-.5"], lr).lr], [1e-3, -0.5]);
  for (
    const [argv, text] of [
      [["--model", "c"], 'unknown value "c"'],
      [["--model", "a", "--epochs", "0"], "out of range"],
      [["--model", "a", "--epochs", "2.5"], "integer"],
      [["--model", "a", "--epochs", "1e3"], "expects an integer, got 1e3"],
      [["--model", "a", "--epochs", "0x10"], 'expects a number, got "0x10"'],
      [["--model", "a", "--epochs", " 5"], 'expects a number, got " 5"'],
      [["--model", "a", "--epochs", "Infinity"], "expects a number"],
      [["--model", "a", "--epochs"], "--epochs needs a value, got nothing"],
      [["--model", "--epochs", "3"], "--model needs a value, got --epochs"],
      [["--model", "a", "--wat"], "unknown option --wat"],
      [["--model", "a", "-epochs", "3"], "unknown option -epochs"],
      [["--model", "a", "photo.jpg"], 'unexpected argument "photo.jpg"'],
      [[], "--model is required"],
    ] as const
  ) {
    assert.throws(() => parseArgs(argv, spec), usageError(text), argv.join(" "));
  }
});

Deno.test("parseArgs with positionals: plain arguments in order in _, options anywhere, -- ends options", () => {
  const spec = {
    json: { type: "boolean", description: "" },
    model: { type: "string", default: "m", description: "" },
  } as const;
  const args = parseArgs(["a.jpg", "--json", "b", "--model", "x.jpg", "c"], spec, { positionals: true });
  assert.deepEqual(args, { help: false, json: true, model: "x.jpg", _: ["a.jpg", "b", "c"] });
  // After --, everything is a plain argument, even what looks like an option.
  const rest = parseArgs(["--model=y", "--", "--json", "-h", "-"], spec, { positionals: true });
  assert.deepEqual([rest.model, rest.json, rest.help, rest._], ["y", false, false, ["--json", "-h", "-"]]);
  assert.deepEqual(parseArgs([], spec, { positionals: true })._, []);
  assert.equal(parseArgs(["-h", "a"], spec, { positionals: true }).help, true);
  // A value is never taken for a plain argument, and a single-dash word is a mistyped option, not a file.
  assert.throws(() => parseArgs(["a", "--model"], spec, { positionals: true }), usageError("needs a value"));
  assert.throws(
    () => parseArgs(["-json", "a"], spec, { positionals: true }),
    usageError("unknown option -json"),
  );
  assert.throws(
    () => parseArgs(["--wat", "a"], spec, { positionals: true }),
    usageError("unknown option --wat"),
  );
});

Deno.test("usage: a line per option, defaults and choices, and the plain arguments' name", () => {
  const spec = {
    model: { type: "string", choices: ["a", "b"], default: "a", description: "the model" },
    n: { type: "number", description: "how many" },
    json: { type: "boolean", description: "JSON lines" },
  } as const;
  const text = usage("deno task x", "Does x.", spec, "FILES...");
  assert.ok(text.startsWith("Does x.\n\nusage: deno task x [options] FILES...\n"), text);
  assert.match(text, /--model VALUE +the model \(one of a\|b; default a\)/);
  assert.match(text, /--n N +how many\n/);
  assert.match(text, /--json +JSON lines\n/);
  assert.match(usage("deno task x", "Does x.", spec), /usage: deno task x \[options\]\n/);
});
