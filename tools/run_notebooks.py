#!/usr/bin/python3
"""Executes Jupyter notebooks headless with nbclient and saves them with their outputs in place.

Run by `deno task notebooks` (cli/notebooks.ts), which builds each notebook from its source
(notebooks/*.ts) into outputs/notebooks/, registers the Deno kernel and sets the environment (FKD_QUICK,
FKD_DATA), then has this script execute the built copy with the kernel working in notebooks/ (`--cwd`).
Usable alone:

    /usr/bin/python3 tools/run_notebooks.py outputs/notebooks/01_explore_data.ipynb --cwd notebooks

Why a subclass of NotebookClient: the Deno kernel sometimes reports a cell idle before the cell's last
output message arrives, and nbclient then stops listening and drops that output. After each cell we keep
reading IOPub messages of that cell until none has come for a short grace period.

Exit status: 0 all ran; 1 a cell failed (the notebook, cell number and error are printed, the notebook on
disk is left as it was and the partly executed copy is written to outputs/notebooks/); 2 bad usage or
Jupyter missing.
"""

import argparse
import asyncio
import os
import queue
import sys
import time

INSTALL_HINT = (
    "Jupyter's nbclient is missing. Install it with:\n"
    "  apt-get install -y jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel\n"
    "(or: python3 -m pip install nbclient nbformat jupyter_client) and register the Deno kernel with\n"
    "  deno jupyter --install"
)

try:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from nbclient.util import ensure_async
except ImportError as exc:  # pragma: no cover - exercised by the TypeScript test through the CLI
    print(f"{INSTALL_HINT}\n(import failed: {exc})", file=sys.stderr)
    sys.exit(2)


class GraceNotebookClient(NotebookClient):
    """A NotebookClient that keeps collecting a cell's late output messages after the kernel says idle."""

    def __init__(self, nb, grace: float = 0.5, **kw):
        super().__init__(nb, **kw)
        self.grace = grace
        self.late_outputs = 0
        self.on_cell_executed = self._collect_late_output

    async def _collect_late_output(self, cell, cell_index, execute_reply):
        parent = execute_reply.get("parent_header", {}).get("msg_id")
        if parent is None or self.grace <= 0:
            return
        # Read until the channel has been quiet for `grace` seconds.
        while True:
            try:
                msg = await asyncio.wait_for(
                    ensure_async(self.kc.iopub_channel.get_msg(timeout=self.grace)), self.grace + 1
                )
            except (queue.Empty, asyncio.TimeoutError):
                return
            if msg["parent_header"].get("msg_id") != parent:
                continue
            if msg["msg_type"] in ("stream", "display_data", "execute_result", "error", "clear_output"):
                self.late_outputs += 1
                try:
                    self.process_message(msg, cell, cell_index)
                except Exception:  # a second idle or an odd message must not fail the run
                    pass


def strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def cell_error_summary(nb, exc) -> tuple:
    """(cell number counted from 1 over all cells, code-cell number, error text) for the failed cell."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                code_no = sum(1 for c in nb.cells[: i + 1] if c.cell_type == "code")
                tb = strip_ansi("\n".join(out.get("traceback", [])))
                text = f"{out.get('ename', 'Error')}: {strip_ansi(out.get('evalue', ''))}"
                return i + 1, code_no, text, tb
    return None, None, strip_ansi(str(exc)).strip(), ""


def merge_streams(nb) -> None:
    """Joins consecutive stream outputs of the same name (the Deno kernel sends one per console.log)."""
    for cell in nb.cells:
        merged = []
        for out in cell.get("outputs", []):
            prev = merged[-1] if merged else None
            if (
                prev is not None
                and out.get("output_type") == "stream"
                and prev.get("output_type") == "stream"
                and prev.get("name") == out.get("name")
            ):
                prev["text"] = prev["text"] + out["text"]
            else:
                merged.append(out)
        if "outputs" in cell:
            cell["outputs"] = merged


def write_atomic(nb, path: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        nbformat.write(nb, f)
    os.replace(tmp, path)


def run_one(path: str, args) -> bool:
    nb = nbformat.read(path, as_version=4)
    kernel = args.kernel or nb.metadata.get("kernelspec", {}).get("name") or "deno"
    client = GraceNotebookClient(
        nb,
        grace=args.grace,
        timeout=args.timeout,
        kernel_name=kernel,
        resources={"metadata": {"path": os.path.abspath(args.cwd or os.path.dirname(path))}},
        record_timing=False,  # keeps diffs of the committed notebooks small
        allow_errors=False,
    )
    name = os.path.basename(path)
    print(f"▶ {name} …", flush=True)
    started = time.monotonic()
    try:
        client.execute()
    # nbclient 0.7 can raise an AssertionError from its clean-up after the kernel died: report it the same way.
    except (CellExecutionError, CellTimeoutError, DeadKernelError, AssertionError) as exc:
        cell_no, code_no, text, tb = cell_error_summary(nb, exc)
        where = f"cell {cell_no} (code cell {code_no})" if cell_no else "a cell"
        if isinstance(exc, CellTimeoutError):
            where, text = "a cell", f"timed out after {args.timeout} s"
        elif isinstance(exc, (DeadKernelError, AssertionError)):
            text = f"the kernel died: {exc}"
        failed_dir = os.path.join(args.failed_dir)
        os.makedirs(failed_dir, exist_ok=True)
        failed_path = os.path.join(failed_dir, name)
        write_atomic(nb, failed_path)
        print(f"✗ {path}: {where} failed: {text}", file=sys.stderr)
        if tb:
            print(tb, file=sys.stderr)
        print(f"  (the partly executed notebook is in {failed_path}; {path} was left as it was)", file=sys.stderr)
        return False
    seconds = time.monotonic() - started
    merge_streams(nb)
    write_atomic(nb, path)
    cells = sum(1 for c in nb.cells if c.cell_type == "code")
    late = f", {client.late_outputs} late outputs kept" if client.late_outputs else ""
    print(f"✓ {name}: {cells} code cells in {seconds:.1f} s{late}", flush=True)
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Execute notebooks headless and save them with outputs.")
    parser.add_argument("notebooks", nargs="+", help="notebook paths, executed in the order given")
    parser.add_argument("--grace", type=float, default=0.5, help="seconds to wait for late output per cell")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a single cell may run")
    parser.add_argument("--kernel", default=None, help="kernel name (default: the notebook's kernelspec)")
    parser.add_argument("--failed-dir", default="outputs/notebooks/failed", help="where a failed run is saved")
    parser.add_argument("--cwd", default=None, help="the kernel's working folder (default: the notebook's)")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        if not os.path.isfile(path):
            print(f"no such notebook: {path}", file=sys.stderr)
            return 2
    total = time.monotonic()
    for path in args.notebooks:
        if not run_one(path, args):
            return 1
    print(f"all {len(args.notebooks)} notebooks ran in {time.monotonic() - total:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
