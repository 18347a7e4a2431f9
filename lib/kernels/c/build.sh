#!/bin/sh
# Builds the relaxed-SIMD kernels (fma_gemm.c, and heap_simd.c linked with it) into the two committed modules that lib/kernels/fma.ts loads:
#   fma_gemm.wasm         imports an unshared memory (tfjs-backend-wasm's single-threaded SIMD binary)
#   fma_gemm_shared.wasm  imports a shared memory of at most 4 GiB (its pthreads binary), atomics on
# Needs Debian's clang-19 and lld-19 (wasm-ld). Run from anywhere: sh lib/kernels/c/build.sh
set -eu
cd "$(dirname "$0")"
CC=${CC:-clang-19}
FLAGS="--target=wasm32 -O3 -msimd128 -mrelaxed-simd -nostdlib -fuse-ld=lld -ffreestanding
  -Wl,--no-entry -Wl,--import-memory -Wl,--strip-all -Wall -Wextra -Werror"
# shellcheck disable=SC2086
$CC $FLAGS -o fma_gemm.wasm fma_gemm.c heap_simd.c
# shellcheck disable=SC2086
$CC $FLAGS -matomics -mbulk-memory -Wl,--shared-memory -Wl,--max-memory=4294967296 \
  -o fma_gemm_shared.wasm fma_gemm.c heap_simd.c
# The modules write into tfjs's heap: they must own no data and use no stack (no __stack_pointer).
for f in fma_gemm.wasm fma_gemm_shared.wasm; do
  if llvm-objdump-19 -d "$f" | grep -q 'global\.'; then
    echo "$f uses a global (the stack pointer): it would write into the imported memory" >&2
    exit 1
  fi
  if llvm-objdump-19 -h "$f" | grep -q ' DATA '; then
    echo "$f has a data section: it would overwrite the imported memory" >&2
    exit 1
  fi
done
ls -l fma_gemm.wasm fma_gemm_shared.wasm
