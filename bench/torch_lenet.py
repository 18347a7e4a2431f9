"""The project's LeNet in PyTorch on the CPU, for a side-by-side speed reference with the wasm backend.

conv 32/64/128 3x3 (valid) + ReLU + 2x2 max-pool each, dense 500 + ReLU, dense 30; 96x96x1 input.
Training: batch 32, Adam, masked MSE. Inference: batch 64. Prints one JSON line:
{"torch": version, "results": [{"threads": n, "train_img_s": .., "infer_img_s": ..}, ...]}.

Usage: /usr/bin/python3 bench/torch_lenet.py [--steps 3] [--threads 1,2]

--serve (bench/train_turns.ts): build and warm up one model, print {"torch": version}, then answer each
line "step N" (N training steps on one batch) or "epoch N" (one pass over N in-memory images in shuffled
batches of 32) with {"img_s": .., "img_cpu_s": ..} (images per second of wall time and of process CPU
time, all threads).
"""
import argparse
import json
import sys
import time

import torch
from torch import nn


def lenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128 * 10 * 10, 500), nn.ReLU(), nn.Linear(500, 30),
    )


def measure(threads: int, steps: int) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = lenet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(32, 1, 96, 96)
    y = torch.rand(32, 30) * 2 - 1
    mask = torch.ones(32, 30)

    def step() -> None:
        opt.zero_grad()
        loss = ((model(x) - y) ** 2 * mask).sum() / mask.sum().clamp(min=1)
        loss.backward()
        opt.step()

    step()  # warm-up
    t = time.perf_counter()
    for _ in range(steps):
        step()
    train = 32 * steps / (time.perf_counter() - t)
    xi = torch.rand(64, 1, 96, 96)
    with torch.no_grad():
        model(xi)
        t = time.perf_counter()
        for _ in range(steps):
            model(xi)
        infer = 64 * steps / (time.perf_counter() - t)
    return {"threads": threads, "train_img_s": round(train, 1), "infer_img_s": round(infer, 1)}


def serve(threads: int) -> None:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = lenet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> None:
        opt.zero_grad()
        loss = ((model(x) - y) ** 2 * mask).sum() / mask.sum().clamp(min=1)
        loss.backward()
        opt.step()

    x = torch.rand(32, 1, 96, 96)
    y = torch.rand(32, 30) * 2 - 1
    mask = torch.ones(32, 30)
    step(x, y, mask)  # warm-up
    print(json.dumps({"torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        cmd, n = line.split()
        n = int(n)
        c = time.process_time()
        if cmd == "step":
            t = time.perf_counter()
            for _ in range(n):
                step(x, y, mask)
            img_s = 32 * n / (time.perf_counter() - t)
            img_cpu_s = 32 * n / (time.process_time() - c)
        else:
            images = torch.rand(n, 1, 96, 96)
            targets = torch.rand(n, 30) * 2 - 1
            present = torch.ones(n, 30)
            t = time.perf_counter()
            order = torch.randperm(n)
            for i in range(0, n, 32):
                idx = order[i:i + 32]
                step(images[idx], targets[idx], present[idx])
            img_s = n / (time.perf_counter() - t)
            img_cpu_s = n / (time.process_time() - c)
        print(json.dumps({"img_s": round(img_s, 2), "img_cpu_s": round(img_cpu_s, 2)}), flush=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--serve", action="store_true")
    a = p.parse_args()
    if a.serve:
        serve(int(a.threads.split(",")[0]))
        return
    results = [measure(int(n), a.steps) for n in a.threads.split(",")]
    print(json.dumps({"torch": torch.__version__, "results": results}))


if __name__ == "__main__":
    main()
