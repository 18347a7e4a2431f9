#!/bin/sh
# Measures LeNet, thesis ResNet, ResNet-50 (and every other registered model) training on WebGPU, for a
# machine with a real GPU; writes the table to outputs/bench/gpu-<date>.md and prints it.
#   sh bench/gpu.sh                    # refuses a software adapter (llvmpipe)
#   sh bench/gpu.sh --allow-software   # measure llvmpipe anyway (a check of the script, not of a GPU)
# Needs Deno 2.9.6 and a Vulkan driver for the GPU (NVIDIA's, or Mesa's for AMD/Intel); Deno's WebGPU
# finds the adapter through Vulkan on Linux.
set -eu
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}" # quiets the Vulkan loader
[ -d node_modules ] || deno install
mkdir -p outputs/bench
out="outputs/bench/gpu-$(date -u +%Y%m%dT%H%MZ).md"
deno run -A bench/gpu_bench.ts "$@" | tee "$out.tmp"
mv "$out.tmp" "$out"
echo "written: $out"
