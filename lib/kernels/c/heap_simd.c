// Memory-bound kernels with SIMD over channels, on tfjs-backend-wasm's heap (linked into the same module
// as fma_gemm.c; heap_kernels.ts has their JavaScript forms and the cases these do not cover).
//
// max_pool_grad: the gradient of a 2-D max-pool whose windows do not overlap (stride ≥ window, as in
// LeNet's 2×2/2). Each output's gradient goes to the first maximum of its window in row-major scan order (the cpu
// backend's rule, which matters for ties such as the zeros after a ReLU); a window whose values are all
// NaN or −∞ passes none. As windows do not overlap, every input is written at most once (dx = g or 0);
// inputs outside every window are left alone (JavaScript zeroes dx first when there are any).
//
// sum_rows: the sum over every axis but the last (a bias gradient), accumulated in float64 like the
// JavaScript form, so that large sums stay as exact as the cpu backend's.
//
// adam_update: one Adam step of one variable; relu_grad: the gradient of ReLU (see there).
//
// No static data and no stack, like fma_gemm.c.

#include <stdint.h>
#include <wasm_simd128.h>

typedef struct {
  int32_t x;   // float*: the pool's input [nb, h, w, c]
  int32_t dy;  // float*: the output gradient [nb, oh, ow, c]
  int32_t dx;  // float*: the input gradient [nb, h, w, c]
  int32_t nb, h, w, c, oh, ow, fh, fw, sh, sw, top, left;
} PoolJob;

#define F(p) ((float*)(uintptr_t)(uint32_t)(p))

__attribute__((export_name("max_pool_grad"))) void max_pool_grad(int32_t job_ptr) {
  const PoolJob* j = (const PoolJob*)(uintptr_t)(uint32_t)job_ptr;
  const float* x = F(j->x);
  const float* dy = F(j->dy);
  float* dx = F(j->dx);
  const int h = j->h, w = j->w, c = j->c, oh = j->oh, ow = j->ow;
  const int c4 = c & ~3;
  for (int b = 0; b < j->nb; b++) {
    for (int oy = 0; oy < oh; oy++) {
      const int y0 = oy * j->sh - j->top, r0 = y0 < 0 ? 0 : y0, r1 = y0 + j->fh < h ? y0 + j->fh : h;
      for (int ox = 0; ox < ow; ox++) {
        const int x0 = ox * j->sw - j->left, q0 = x0 < 0 ? 0 : x0, q1 = x0 + j->fw < w ? x0 + j->fw : w;
        const float* g = dy + (((intptr_t)b * oh + oy) * ow + ox) * c;
        for (int ch = 0; ch < c4; ch += 4) {
          v128_t best = wasm_f32x4_splat(-__builtin_inff()), at = wasm_i32x4_splat(-1);
          int k = 0;
          for (int r = r0; r < r1; r++) {
            for (int q = q0; q < q1; q++, k++) {
              const v128_t v = wasm_v128_load(x + (((intptr_t)b * h + r) * w + q) * c + ch);
              const v128_t m = wasm_f32x4_gt(v, best); // false for NaN
              best = wasm_v128_bitselect(v, best, m);
              at = wasm_v128_bitselect(wasm_i32x4_splat(k), at, m);
            }
          }
          const v128_t gv = wasm_v128_load(g + ch), zero = wasm_f32x4_splat(0.f);
          k = 0;
          for (int r = r0; r < r1; r++) {
            for (int q = q0; q < q1; q++, k++) {
              const v128_t m = wasm_i32x4_eq(at, wasm_i32x4_splat(k));
              wasm_v128_store(dx + (((intptr_t)b * h + r) * w + q) * c + ch, wasm_v128_bitselect(gv, zero, m));
            }
          }
        }
        for (int ch = c4; ch < c; ch++) {
          float best = -__builtin_inff();
          int at = -1, k = 0;
          for (int r = r0; r < r1; r++) {
            for (int q = q0; q < q1; q++, k++) {
              const float v = x[(((intptr_t)b * h + r) * w + q) * c + ch];
              if (v > best) best = v, at = k;
            }
          }
          k = 0;
          for (int r = r0; r < r1; r++) {
            for (int q = q0; q < q1; q++, k++) dx[(((intptr_t)b * h + r) * w + q) * c + ch] = k == at ? g[ch] : 0.f;
          }
        }
      }
    }
  }
}

// acc (c doubles, scratch) = Σ_r src[r·c + ch]; dst[ch] = (float)acc[ch].
__attribute__((export_name("sum_rows"))) void sum_rows(int32_t src_ptr, int32_t dst_ptr, int32_t acc_ptr,
                                                         int32_t rows, int32_t c) {
  const float* src = F(src_ptr);
  float* dst = F(dst_ptr);
  double* acc = (double*)(uintptr_t)(uint32_t)acc_ptr;
  const int c4 = c & ~3;
  for (int ch = 0; ch < c; ch++) acc[ch] = 0;
  for (int r = 0; r < rows; r++, src += c) {
    for (int ch = 0; ch < c4; ch += 4) {
      const v128_t v = wasm_v128_load(src + ch);
      const v128_t lo = wasm_f64x2_promote_low_f32x4(v);
      const v128_t hi = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
      wasm_v128_store(acc + ch, wasm_f64x2_add(wasm_v128_load(acc + ch), lo));
      wasm_v128_store(acc + ch + 2, wasm_f64x2_add(wasm_v128_load(acc + ch + 2), hi));
    }
    for (int ch = c4; ch < c; ch++) acc[ch] += src[ch];
  }
  for (int ch = 0; ch < c; ch++) dst[ch] = (float)acc[ch];
}

// One Adam step of one variable, the operations of tfjs's AdamOptimizer in its order, in float32 (no
// contraction: wasm has no fused multiply-add outside relaxed SIMD, which this never uses), so the result
// equals the stock update:
//   m' = m·β₁ + g·(1−β₁);  v' = v·β₂ + g²·(1−β₂);  w' = (m'/c₁) / (√(v'/c₂) + ε) · (−lr) + w
// with c₁ = 1 − β₁ᵗ, c₂ = 1 − β₂ᵗ. Writes w', m', v' to their own buffers.
__attribute__((export_name("adam_update"))) void adam_update(
    int32_t w_ptr, int32_t g_ptr, int32_t m_ptr, int32_t v_ptr, int32_t w2_ptr, int32_t m2_ptr, int32_t v2_ptr,
    int32_t n, float b1, float one_b1, float b2, float one_b2, float c1, float c2, float eps, float neg_lr) {
  const float *w = F(w_ptr), *g = F(g_ptr), *m = F(m_ptr), *v = F(v_ptr);
  float *w2 = F(w2_ptr), *m2 = F(m2_ptr), *v2 = F(v2_ptr);
  const v128_t B1 = wasm_f32x4_splat(b1), OB1 = wasm_f32x4_splat(one_b1), B2 = wasm_f32x4_splat(b2),
               OB2 = wasm_f32x4_splat(one_b2), C1 = wasm_f32x4_splat(c1), C2 = wasm_f32x4_splat(c2),
               EPS = wasm_f32x4_splat(eps), NLR = wasm_f32x4_splat(neg_lr);
  const int n4 = n & ~3;
  for (int i = 0; i < n4; i += 4) {
    const v128_t gi = wasm_v128_load(g + i);
    const v128_t mi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), B1), wasm_f32x4_mul(gi, OB1));
    const v128_t vi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), B2),
                                     wasm_f32x4_mul(wasm_f32x4_mul(gi, gi), OB2));
    const v128_t step = wasm_f32x4_div(wasm_f32x4_div(mi, C1),
                                       wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_div(vi, C2)), EPS));
    wasm_v128_store(m2 + i, mi);
    wasm_v128_store(v2 + i, vi);
    wasm_v128_store(w2 + i, wasm_f32x4_add(wasm_f32x4_mul(step, NLR), wasm_v128_load(w + i)));
  }
  for (int i = n4; i < n; i++) {
    const float mi = m[i] * b1 + g[i] * one_b1;
    const float vi = v[i] * b2 + (g[i] * g[i]) * one_b2;
    m2[i] = mi;
    v2[i] = vi;
    w2[i] = (mi / c1) / (__builtin_sqrtf(vi / c2) + eps) * neg_lr + w[i];
  }
}

// The gradient of ReLU as tfjs computes it, dx = dy · step(x) with step(x) = 1 for x > 0, NaN for NaN, else
// 0 (so dx keeps tfjs's −0 and NaN), in one pass instead of three kernels (a copy, step, multiply).
__attribute__((export_name("relu_grad"))) void relu_grad(int32_t dy_ptr, int32_t x_ptr, int32_t dx_ptr,
                                                           int32_t n) {
  const float *dy = F(dy_ptr), *x = F(x_ptr);
  float* dx = F(dx_ptr);
  const v128_t zero = wasm_f32x4_splat(0.f), one = wasm_f32x4_splat(1.f);
  const int n4 = n & ~3;
  for (int i = 0; i < n4; i += 4) {
    const v128_t xi = wasm_v128_load(x + i);
    const v128_t nan_or_zero = wasm_v128_bitselect(xi, zero, wasm_f32x4_ne(xi, xi));
    const v128_t step = wasm_v128_bitselect(one, nan_or_zero, wasm_f32x4_gt(xi, zero));
    wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), step));
  }
  for (int i = n4; i < n; i++) {
    const float step = x[i] > 0.f ? 1.f : x[i] != x[i] ? x[i] : 0.f;
    dx[i] = dy[i] * step;
  }
}
