/**
 * Progress: the callback interface the training loop calls and two displays of it (a terminal progress
 * bar and a live-updating notebook table), and {@link progressBar}, the counting bar that video and
 * end-to-end evaluation draw on stderr.
 *
 * @module
 */

/** Told once when training starts. */
export interface TrainStartInfo {
  model: string;
  /** Total epochs of the run and the first epoch this call runs (> 1 after a resume). */
  epochs: number;
  startEpoch: number;
  batchesPerEpoch: number;
  trainSize: number;
  validationSize: number;
  backend: string;
}

/** Told after every batch. */
export interface BatchInfo {
  /** 1-based epoch and batch. */
  epoch: number;
  batch: number;
  batches: number;
  /** Mean training loss of this epoch so far (masked MSE in normalised units). */
  loss: number;
  /** Training throughput of this epoch so far. */
  imagesPerSec: number;
  /** Seconds since this epoch started. */
  seconds: number;
}

/** One epoch's metrics, as kept in `history.json`. */
export interface EpochRecord {
  epoch: number;
  /** Mean training loss (masked MSE, normalised units). */
  loss: number;
  /** The training loss as RMSE in pixels (√loss · 48), on augmented batches. */
  train_rmse_px: number;
  /** Validation metrics in pixels of the 96×96 face (NaN with no validation set). */
  val_rmse_px: number;
  val_nme: number;
  val_pck_10: number;
  /** Learning rate used in this epoch. */
  lr: number;
  /** Wall-clock seconds of the epoch (training + validation) and training throughput. */
  seconds: number;
  images_per_sec: number;
}

/** Told when training ends, however it ends. */
export interface TrainEndInfo {
  /** "epochs", "early-stopping", "diverged", or "already finished". */
  reason: string;
  bestEpoch: number;
  bestValRmse: number;
}

/** What the training loop reports to. Every method is optional. */
export interface TrainProgress {
  onStart?(info: TrainStartInfo): void;
  onBatch?(info: BatchInfo): void;
  onEpoch?(record: EpochRecord, info: TrainStartInfo): void;
  onEnd?(info: TrainEndInfo): void;
}

const fmt = (v: number, d = 3) => Number.isFinite(v) ? v.toFixed(d) : "–";

/** `1h02m`, `3m05s`, `42s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** Seconds left in the run, from the pace of the current epoch. */
function timeLeft(start: TrainStartInfo, b: BatchInfo): number {
  const perBatch = b.seconds / b.batch;
  return perBatch * ((b.batches - b.batch) + (start.epochs - b.epoch) * b.batches);
}

/** One line describing an epoch. */
function epochLine(r: EpochRecord, epochs: number): string {
  return `epoch ${r.epoch}/${epochs}  loss ${r.loss.toExponential(3)}  train ${fmt(r.train_rmse_px)} px  ` +
    `val ${fmt(r.val_rmse_px)} px  NME ${fmt(r.val_nme, 4)}  lr ${r.lr.toExponential(1)}  ` +
    `${r.images_per_sec.toFixed(1)} img/s  ${formatDuration(r.seconds)}`;
}

/**
 * A terminal display on stderr. On a TTY it redraws one `\r` line per batch (at most 10 times a second:
 * epoch, batch, loss, last validation RMSE, images/s, time left) and keeps one line per epoch; elsewhere
 * (a log file, CI) it prints only the per-epoch lines.
 *
 * @example
 * ```ts
 * import { train } from "./train_io.ts";
 * import { syntheticDataset } from "../data/synthetic.ts";
 * await train(syntheticDataset({ n: 200 }), { model: "lenet" }, terminalProgress());
 * ```
 */
export function terminalProgress(
  opts: { tty?: boolean; write?: (text: string) => void } = {},
): TrainProgress {
  const encoder = new TextEncoder();
  const write = opts.write ?? ((t: string) => Deno.stderr.writeSync(encoder.encode(t)));
  const tty = opts.tty ?? Deno.stderr.isTerminal();
  let start: TrainStartInfo | undefined;
  let lastVal = NaN, lastDraw = 0;
  return {
    onStart(info) {
      start = info;
      write(
        `training ${info.model} on ${info.trainSize} faces (validation ${info.validationSize}), ` +
          `${info.batchesPerEpoch} batches per epoch, epochs ${info.startEpoch}..${info.epochs}, backend ${info.backend}\n`,
      );
    },
    onBatch(b) {
      const now = performance.now();
      if (!tty || !start || (now - lastDraw < 100 && b.batch < b.batches)) return;
      lastDraw = now;
      write(
        `\r\x1b[2Kepoch ${b.epoch}/${start.epochs} ${barCells(b.batch / b.batches, 20)} ` +
          `${b.batch}/${b.batches}  loss ${b.loss.toExponential(3)}  val ${fmt(lastVal)} px  ` +
          `${b.imagesPerSec.toFixed(1)} img/s  left ${formatDuration(timeLeft(start, b))}`,
      );
    },
    onEpoch(r, info) {
      lastVal = r.val_rmse_px;
      write(`${tty ? "\r\x1b[2K" : ""}${epochLine(r, info.epochs)}\n`);
    },
    onEnd(e) {
      write(`stopped (${e.reason}); best validation RMSE ${fmt(e.bestValRmse)} px at epoch ${e.bestEpoch}\n`);
    },
  };
}

/** `[####....]`: `fraction` of `width` cells filled. */
function barCells(fraction: number, width: number): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

/** A counting progress bar: {@link progressBar}. */
export interface ProgressBar {
  /** `done` of `total` items so far (`total` not finite or ≤ 0: unknown). */
  update(done: number, total: number): void;
  /** Clears the bar's line. */
  finish(): void;
}

/**
 * A one-line bar on stderr, redrawn at most 10 times a second: `label [####....] done/total unit  rate
 * unit/s  left 12s`. Off a terminal (a log file, CI) it draws nothing.
 *
 * @example
 * ```ts
 * const bar = progressBar("clip.mp4", "frames");
 * for (let i = 1; i <= 100; i++) bar.update(i, 100);
 * bar.finish();
 * ```
 */
export function progressBar(
  label: string,
  unit: string,
  opts: { tty?: boolean; write?: (text: string) => void } = {},
): ProgressBar {
  const encoder = new TextEncoder();
  const write = opts.write ?? ((t: string) => Deno.stderr.writeSync(encoder.encode(t)));
  const tty = opts.tty ?? Deno.stderr.isTerminal();
  const start = performance.now();
  let lastDraw = 0, drawn = false;
  return {
    update(done, total) {
      const now = performance.now();
      if (!tty || now - lastDraw < 100) return;
      lastDraw = now, drawn = true;
      const known = Number.isFinite(total) && total > 0;
      const rate = done / ((now - start) / 1000);
      const left = known && rate > 0 ? `  left ${formatDuration(Math.max(0, (total - done) / rate))}` : "";
      write(
        `\r\x1b[2K${label} ${barCells(known ? done / total : 0, 24)} ${done}/${
          known ? total : "?"
        } ${unit}  ` +
          `${rate.toFixed(1)} ${unit}/s${left}`,
      );
    },
    finish() {
      if (drawn) write("\r\x1b[2K");
      drawn = false;
    },
  };
}

interface JupyterApi {
  // Deno 2.9.6 returns undefined here although its type says Promise: treat it as either.
  broadcast(type: string, content: Record<string, unknown>): Promise<void> | undefined;
}

/** The Deno kernel's Jupyter API, or undefined outside `deno jupyter` (where touching it throws). */
function jupyter(): JupyterApi | undefined {
  try {
    return (Deno as unknown as { jupyter?: JupyterApi }).jupyter;
  } catch {
    return undefined;
  }
}

/** True inside a Deno Jupyter kernel. */
function inNotebook(): boolean {
  return jupyter() !== undefined;
}

const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/**
 * A live display for Deno Jupyter notebooks: one output that is updated in place (`display_data`, then
 * `update_display_data` with the same `display_id`) with the current batch and a table of epochs.
 * Updates at most twice a second. Outside a notebook it does nothing.
 *
 * @example
 * ```ts
 * // in a notebook cell
 * import { train } from "./train_io.ts";
 * import { syntheticDataset } from "../data/synthetic.ts";
 * const ds = syntheticDataset({ n: 200 });
 * const result = await train(ds, { model: "lenet", epochs: 5 }, notebookProgress());
 * ```
 */
export function notebookProgress(): TrainProgress {
  const api = jupyter();
  const displayId = `fkd-train-${crypto.randomUUID()}`;
  const rows: EpochRecord[] = [];
  let start: TrainStartInfo | undefined;
  let status = "";
  let shown = false, lastDraw = 0;
  const draw = (force: boolean) => {
    const now = performance.now();
    if (!api || (!force && now - lastDraw < 500)) return;
    lastDraw = now;
    const head = "<tr><th>epoch</th><th>loss</th><th>train px</th><th>val px</th><th>NME</th>" +
      "<th>lr</th><th>img/s</th><th>time</th></tr>";
    const body = rows.map((r) =>
      `<tr><td>${r.epoch}</td><td>${r.loss.toExponential(3)}</td><td>${fmt(r.train_rmse_px)}</td>` +
      `<td>${fmt(r.val_rmse_px)}</td><td>${fmt(r.val_nme, 4)}</td><td>${r.lr.toExponential(1)}</td>` +
      `<td>${r.images_per_sec.toFixed(1)}</td><td>${formatDuration(r.seconds)}</td></tr>`
    ).join("");
    const title = start ? `${start.model}: ${start.trainSize} faces, backend ${start.backend}` : "training";
    const html = `<div><b>${escapeHtml(title)}</b><br><code>${escapeHtml(status)}</code>` +
      `<table>${head}${body}</table></div>`;
    const text = [title, status, ...rows.map((r) => epochLine(r, start?.epochs ?? r.epoch))].join("\n");
    const type = shown ? "update_display_data" : "display_data";
    shown = true;
    Promise.resolve(api.broadcast(type, {
      data: { "text/html": html, "text/plain": text },
      metadata: {},
      transient: { display_id: displayId },
    })).catch(() => {});
  };
  return {
    onStart(info) {
      start = info;
      status = `starting at epoch ${info.startEpoch} of ${info.epochs}`;
      draw(true);
    },
    onBatch(b) {
      const left = start ? formatDuration(timeLeft(start, b)) : "?";
      status = `epoch ${b.epoch}: batch ${b.batch}/${b.batches}, loss ${b.loss.toExponential(3)}, ` +
        `${b.imagesPerSec.toFixed(1)} img/s, ${left} left`;
      draw(false);
    },
    onEpoch(r) {
      rows.push(r);
      draw(true);
    },
    onEnd(e) {
      status = `stopped (${e.reason}); best validation RMSE ${fmt(e.bestValRmse)} px at epoch ${e.bestEpoch}`;
      draw(true);
    },
  };
}

/** {@link notebookProgress} inside a Deno Jupyter kernel, else {@link terminalProgress}. */
export function autoProgress(): TrainProgress {
  return inNotebook() ? notebookProgress() : terminalProgress();
}
