/**
 * `deno task serve [--port N] [--host H] [--model DIR]`: a local web server (Deno.serve) for the live camera
 * page `web/index.html`, which runs face detection and the keypoint model in the browser.
 *
 * The page's script `web/app.ts` imports the library's pure modules (`lib/face/track.ts`,
 * `lib/face/detect.ts`, `lib/viz/annotate.ts`, …; no `_io.ts` module, which `tools/check_pure.ts` checks)
 * and npm's tfjs and OpenCV.js; it is bundled for the browser with `deno bundle` (esbuild) on the first
 * request and kept in memory (`--dev`: on every request).
 *
 * Routes: `/` the page, `/app.js` the bundle, `/model/*` the model folder's
 * files (`model.json`, `weights.bin`, `metadata.json`), `/detector/*` the CNN face detector's (from
 * `data/face-detector/`), `/data/haarcascade_frontalface_default.xml`,
 * `/vendor/tfjs-wasm/*.wasm` (from node_modules). Responses carry COOP/COEP headers so the page is
 * cross-origin isolated and tfjs may use its multi-threaded WASM build.
 *
 * @module
 */
import { DEFAULT_MODEL_DIR, readKeypointModelFiles } from "../lib/models/folder_io.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, runCli, usage } from "./args.ts";
import { UsageError } from "../lib/core/errors.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const WEB = join(ROOT, "web");
const WASM_DIR = join(ROOT, "node_modules/@tensorflow/tfjs-backend-wasm/dist");
const CASCADE = join(ROOT, "data/haarcascade_frontalface_default.xml");
const CNN_DETECTOR = join(ROOT, "data/face-detector");

/** Options of {@link startServer}. */
export interface ServeOptions {
  /** Port; 0 picks a free one. Default 8000. */
  port?: number;
  /** Default 127.0.0.1 (this machine only). */
  hostname?: string;
  /** Model folder to serve at `/model/`; default `outputs/models/default`. */
  model?: string;
  /** Re-bundle `web/app.ts` on every request (while editing it). */
  dev?: boolean;
  /** Called with the URL once listening. */
  onListen?: (url: string) => void;
}

/** A running server. */
export interface Server {
  url: string;
  /** Stops the server. */
  close(): Promise<void>;
}

/** Bundles `web/app.ts` for the browser with `deno bundle`. */
export async function bundleApp(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "fkd-bundle-" });
  try {
    const out = join(dir, "app.js");
    const { success, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--platform",
        "browser",
        "-o",
        out,
        "web/app.ts",
      ],
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) throw new Error(`deno bundle web/app.ts failed:\n${new TextDecoder().decode(stderr)}`);
    return await Deno.readTextFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".bin": "application/octet-stream",
  ".xml": "application/xml",
};

function contentType(path: string): string {
  return TYPES[path.slice(path.lastIndexOf("."))] ?? "application/octet-stream";
}

/** Serves the camera page; resolves once listening. */
export async function startServer(opts: ServeOptions = {}): Promise<Server> {
  const model = opts.model ?? DEFAULT_MODEL_DIR;
  try {
    await Deno.stat(join(model, "model.json"));
  } catch {
    const hint = model === DEFAULT_MODEL_DIR
      ? "the bundled model is missing; train one with deno task train … --out outputs/models/default, or pass --model DIR"
      : "pass a folder written by deno task train";
    throw new UsageError(`no keypoint model in ${model} (model.json not found): ${hint}`);
  }
  await readKeypointModelFiles(model); // the page would load damaged weights without a word
  let bundle: Promise<string> | undefined;
  const build = () => {
    const p = bundleApp();
    p.catch(() => bundle = undefined); // a failed build is retried on the next request
    return p;
  };
  const app = () => opts.dev ? build() : (bundle ??= build());

  const headers = (type: string) => ({
    "content-type": type,
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-embedder-policy": "require-corp",
    "cache-control": "no-store",
  });
  const file = async (path: string) => {
    try {
      return new Response(await Deno.readFile(path), { headers: headers(contentType(path)) });
    } catch {
      return new Response("not found", { status: 404, headers: headers("text/plain") });
    }
  };

  const handler = async (req: Request): Promise<Response> => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url).pathname);
    } catch {
      return new Response("bad request: malformed %-escape in the URL", {
        status: 400,
        headers: headers("text/plain"),
      });
    }
    try {
      if (path === "/" || path === "/index.html") {
        const html = await Deno.readTextFile(join(WEB, "index.html"));
        return new Response(html, { headers: headers(TYPES[".html"]) });
      }
      if (path === "/app.js") return new Response(await app(), { headers: headers(TYPES[".js"]) });
      const name = path.slice(path.lastIndexOf("/") + 1);
      const safe = /^[\w][\w.-]*$/.test(name);
      if (safe && path === `/model/${name}`) return await file(join(model, name));
      if (safe && path === `/detector/${name}`) return await file(join(CNN_DETECTOR, name));
      if (safe && path === `/vendor/tfjs-wasm/${name}` && name.endsWith(".wasm")) {
        return await file(join(WASM_DIR, name));
      }
      if (path === "/data/haarcascade_frontalface_default.xml") return await file(CASCADE);
      return new Response("not found", { status: 404, headers: headers("text/plain") });
    } catch (e) {
      console.error(`serve: ${path}: ${(e as Error).message}`);
      return new Response(`server error: ${(e as Error).message}`, {
        status: 500,
        headers: headers("text/plain"),
      });
    }
  };

  const { promise, resolve } = Promise.withResolvers<string>();
  const [port, hostname] = [opts.port ?? 8000, opts.hostname ?? "127.0.0.1"];
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      port,
      hostname,
      onListen: ({ hostname, port }) => resolve(`http://${hostname}:${port}/`),
    }, handler);
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new UsageError(
        `port ${port} on ${hostname} is already in use: pass another --port (0: any free one)`,
      );
    }
    if (e instanceof Deno.errors.AddrNotAvailable || e instanceof Deno.errors.PermissionDenied) {
      throw new UsageError(`cannot listen on ${hostname}:${port}: ${(e as Error).message}`);
    }
    throw e;
  }
  const url = await promise;
  opts.onListen?.(url);
  return { url, close: () => server.shutdown() };
}

const SPEC = {
  port: {
    type: "number",
    integer: true,
    min: 0,
    max: 65535,
    default: 8000,
    description: "port (0: any free one)",
  },
  host: { type: "string", default: "127.0.0.1", description: "address to listen on" },
  model: {
    type: "string",
    default: DEFAULT_MODEL_DIR,
    description: "model folder (as written by deno task train)",
  },
  dev: { type: "boolean", description: "re-bundle web/app.ts on every request" },
} as const;

async function main(): Promise<void> {
  const args = parseArgs(Deno.args, SPEC);
  if (args.help) {
    console.log(usage("deno task serve", "Serves the live camera page (keypoints on the webcam).", SPEC));
    return;
  }
  const server = await startServer({
    port: args.port,
    hostname: args.host,
    model: args.model,
    dev: args.dev,
  });
  console.log(`camera page: ${server.url}  (model ${args.model}; Ctrl-C stops)`);
  // Bundle now so that the first page load does not wait.
  const t0 = performance.now();
  await fetch(new URL("/app.js", server.url)).then((r) => r.body?.cancel());
  console.log(`page script bundled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

if (import.meta.main) await runCli(main);
