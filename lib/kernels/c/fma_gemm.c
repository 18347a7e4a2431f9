// A gathered-operand matrix product with relaxed-SIMD fused multiply-add, run in place on
// tfjs-backend-wasm's heap (the module imports the backend's memory; see build.sh).
//
//   C[r, n] (+)= sum_q base[rOff[r] + qOff[q]] * B[q * ldb + n]
//
// The left operand is gathered through two offset tables, so one kernel covers the shapes we train:
//   dense forward   X·W:    rOff[r] = r·K,  qOff[q] = q           (B = W)
//   dense weights   Xᵀ·dY:  rOff[r] = r,    qOff[q] = q·M         (B = dY)
//   conv filter grad:       r = (tap, in-channel), q = output pixel (B = dY): an implicit im2col
//   conv forward:           r = output pixel, q = (tap, in-channel)  (B = the filter)
// After the last depth block an optional epilogue adds a bias per column and applies ReLU (a fused
// convolution's bias and activation, without another pass over C).
//
// Work is split into units (a block of row tiles × a block of column tiles) taken from an atomic counter,
// so any number of threads (instances of this module on the same shared memory) can run one job.
// No static data and no stack: the module must not write anywhere in the imported memory but C.

#include <stdint.h>
#include <wasm_simd128.h>

#define MR 4   // rows per tile (6 measured slower: x64 has 16 vector registers)
#define NR 8   // columns per tile (two f32x4 vectors)
#define KC 256 // depth per block: the B panel of a tile stays in L1 across row tiles

// Job parameters, an int32 block in the shared heap (written by JavaScript; see lib/kernels/fma.ts).
typedef struct {
  int32_t base;       // float*: the gathered operand
  int32_t rows;       // R
  int32_t cols;       // N
  int32_t depth;      // Q
  int32_t r_off;      // int32*: R offsets (elements)
  int32_t q_off;      // int32*: Q offsets (elements)
  int32_t b;          // float*: B, Q rows of ldb floats
  int32_t ldb;
  int32_t c;          // float*: C, R rows of ldc floats
  int32_t ldc;
  int32_t accumulate; // 1: C += product; 0: C = product
  int32_t unit_rows;  // row tiles per unit
  int32_t unit_cols;  // column tiles per unit
  int32_t counter;    // next unit (atomic); JavaScript sets it to 0
  int32_t bias;       // float*: N column biases added at the end, or 0 for none
  int32_t relu;       // 1: C = max(C, 0) at the end
} Job;

// What the last depth block does to a tile before storing it (bias already offset to the tile's column).
typedef struct {
  const float* bias; // 0: none
  int relu;
} Epilogue;

#define F(p) ((float*)(uintptr_t)(uint32_t)(p))
#define I(p) ((const int32_t*)(uintptr_t)(uint32_t)(p))

// One tile of mr ≤ MR rows and nv ∈ {1, 2} vectors over depth [q0, q1). Constant mr/nv after inlining:
// the accumulators become locals (no stack).
static inline __attribute__((always_inline)) void tile_v(
    const float* base, const int32_t* ro, const int32_t* qo, int q0, int q1, const float* b, int ldb,
    float* c, int ldc, int load, Epilogue e, const int mr, const int nv) {
  v128_t acc[MR][2];
  int32_t o[MR];
#pragma clang loop unroll(full)
  for (int r = 0; r < MR; r++) {
    o[r] = r < mr ? ro[r] : 0;
#pragma clang loop unroll(full)
    for (int v = 0; v < 2; v++) {
      acc[r][v] = (r < mr && v < nv && load) ? wasm_v128_load(c + r * ldc + 4 * v) : wasm_f32x4_splat(0.f);
    }
  }
  const float* bq = b + (intptr_t)q0 * ldb;
  for (int q = q0; q < q1; q++, bq += ldb) {
    const float* p = base + qo[q];
    v128_t b0 = wasm_v128_load(bq);
    v128_t b1 = nv > 1 ? wasm_v128_load(bq + 4) : b0;
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
      if (r < mr) {
        v128_t a = wasm_f32x4_splat(p[o[r]]);
        acc[r][0] = wasm_f32x4_relaxed_madd(a, b0, acc[r][0]);
        if (nv > 1) acc[r][1] = wasm_f32x4_relaxed_madd(a, b1, acc[r][1]);
      }
    }
  }
  if (e.bias) {
    const v128_t b0 = wasm_v128_load(e.bias), b1 = nv > 1 ? wasm_v128_load(e.bias + 4) : b0;
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
      acc[r][0] = wasm_f32x4_add(acc[r][0], b0);
      acc[r][1] = wasm_f32x4_add(acc[r][1], b1);
    }
  }
  if (e.relu) {
    const v128_t zero = wasm_f32x4_splat(0.f);
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
      // max(x, 0) keeps NaN (as tfjs's ReLU does): f32x4.max propagates it.
      acc[r][0] = wasm_f32x4_max(acc[r][0], zero);
      acc[r][1] = wasm_f32x4_max(acc[r][1], zero);
    }
  }
#pragma clang loop unroll(full)
  for (int r = 0; r < MR; r++) {
#pragma clang loop unroll(full)
    for (int v = 0; v < 2; v++) {
      if (r < mr && v < nv) wasm_v128_store(c + r * ldc + 4 * v, acc[r][v]);
    }
  }
}

// The last 1–3 columns, scalar.
static void tile_s(const float* base, const int32_t* ro, const int32_t* qo, int q0, int q1, const float* b,
                   int ldb, float* c, int ldc, int load, Epilogue e, int mr, int nc) {
  for (int r = 0; r < mr; r++) {
    for (int j = 0; j < nc; j++) {
      float s = load ? c[r * ldc + j] : 0.f;
      const float* bq = b + (intptr_t)q0 * ldb + j;
      for (int q = q0; q < q1; q++, bq += ldb) s += base[qo[q] + ro[r]] * *bq;
      if (e.bias) s += e.bias[j];
      if (e.relu) s = s < 0.f ? 0.f : s; // NaN stays NaN
      c[r * ldc + j] = s;
    }
  }
}

#define TILE(MRC, NVC) \
  tile_v(base, ro, qo, q0, q1, b, ldb, c, ldc, load, e, MRC, NVC)

static void tile(const float* base, const int32_t* ro, const int32_t* qo, int q0, int q1, const float* b,
                 int ldb, float* c, int ldc, int load, Epilogue e, int mr, int nc) {
  if (nc >= NR) {
    switch (mr) {
      case 4: TILE(4, 2); return;
      case 3: TILE(3, 2); return;
      case 2: TILE(2, 2); return;
      default: TILE(1, 2); return;
    }
  }
  if (nc >= 4) {
    switch (mr) {
      case 4: TILE(4, 1); break;
      case 3: TILE(3, 1); break;
      case 2: TILE(2, 1); break;
      default: TILE(1, 1); break;
    }
    b += 4, c += 4, nc -= 4;
    if (e.bias) e.bias += 4;
    if (nc == 0) return;
  }
  tile_s(base, ro, qo, q0, q1, b, ldb, c, ldc, load, e, mr, nc);
}

// Runs units of the job until none are left. Every thread of a job calls this with the same block.
__attribute__((export_name("gemm_run"))) void gemm_run(int32_t job_ptr) {
  Job* job = (Job*)(uintptr_t)(uint32_t)job_ptr;
  const float* base = F(job->base);
  const int32_t* r_off = I(job->r_off);
  const int32_t* qo = I(job->q_off);
  const int R = job->rows, N = job->cols, Q = job->depth, ldb = job->ldb, ldc = job->ldc;
  const int row_tiles = (R + MR - 1) / MR, col_tiles = (N + NR - 1) / NR;
  const int ur = job->unit_rows, uc = job->unit_cols;
  const int units_r = (row_tiles + ur - 1) / ur, units = units_r * ((col_tiles + uc - 1) / uc);
  for (;;) {
    const int u = __atomic_fetch_add(&job->counter, 1, __ATOMIC_RELAXED);
    if (u >= units) return;
    const int t0 = (u % units_r) * ur, t1 = t0 + ur < row_tiles ? t0 + ur : row_tiles;
    const int s0 = (u / units_r) * uc, s1 = s0 + uc < col_tiles ? s0 + uc : col_tiles;
    // Depth blocks of equal size (at most KC): a short last block would pay a tile's setup for little work.
    const int blocks = (Q + KC - 1) / KC, kc = (Q + blocks - 1) / blocks;
    for (int q0 = 0; q0 < Q; q0 += kc) {
      const int q1 = q0 + kc < Q ? q0 + kc : Q;
      const int load = job->accumulate || q0 > 0, last = q1 == Q;
      for (int s = s0; s < s1; s++) {
        const int n = s * NR, nc = N - n < NR ? N - n : NR;
        const float* b = F(job->b) + n;
        const Epilogue e = {last && job->bias ? F(job->bias) + n : 0, last && job->relu};
        for (int t = t0; t < t1; t++) {
          const int r = t * MR, mr = R - r < MR ? R - r : MR;
          tile(base, r_off + r, qo, q0, q1, b, ldb, F(job->c) + (intptr_t)r * ldc + n, ldc, load, e, mr, nc);
        }
      }
    }
  }
}
