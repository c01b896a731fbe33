// The dot products of the multi-row f32 product (mk_matmul_f32.c) with AVX2 + FMA (8 lanes)
// and AVX-512 F (16 lanes, masked tails). Four weight rows against one or two rows of A: one
// accumulator per (weight row, A row), each weight vector loaded once for both A rows.
#if defined(__x86_64__)
#include <immintrin.h>
#include "mk_avx2.h"
#include "mk_matmul_f32.h"

/// Lanes 0..n-1 set (n in 0..8).
MK_TI __m256i tail_mask(int64_t n) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), lanes);
}

MK_T void mk_dot4_f32_avx2(const float *const w[4], const float *a0, const float *a1, int64_t k, float s0[4], float s1[4]) {
    __m256 p[4], q[4];
    for (int i = 0; i < 4; i++) p[i] = q[i] = _mm256_setzero_ps();
    int64_t c = 0;
    if (a1) {
        for (; c + 8 <= k; c += 8) {
            __m256 x0 = _mm256_loadu_ps(a0 + c), x1 = _mm256_loadu_ps(a1 + c);
            for (int i = 0; i < 4; i++) {
                __m256 u = _mm256_loadu_ps(w[i] + c);
                p[i] = _mm256_fmadd_ps(u, x0, p[i]);
                q[i] = _mm256_fmadd_ps(u, x1, q[i]);
            }
        }
        if (c < k) {
            __m256i m = tail_mask(k - c);
            __m256 x0 = _mm256_maskload_ps(a0 + c, m), x1 = _mm256_maskload_ps(a1 + c, m);
            for (int i = 0; i < 4; i++) {
                __m256 u = _mm256_maskload_ps(w[i] + c, m);
                p[i] = _mm256_fmadd_ps(u, x0, p[i]);
                q[i] = _mm256_fmadd_ps(u, x1, q[i]);
            }
        }
        for (int i = 0; i < 4; i++) { s0[i] = mk_hsum(p[i]); s1[i] = mk_hsum(q[i]); }
        return;
    }
    for (; c + 8 <= k; c += 8) {
        __m256 x0 = _mm256_loadu_ps(a0 + c);
        for (int i = 0; i < 4; i++) p[i] = _mm256_fmadd_ps(_mm256_loadu_ps(w[i] + c), x0, p[i]);
    }
    if (c < k) {
        __m256i m = tail_mask(k - c);
        __m256 x0 = _mm256_maskload_ps(a0 + c, m);
        for (int i = 0; i < 4; i++) p[i] = _mm256_fmadd_ps(_mm256_maskload_ps(w[i] + c, m), x0, p[i]);
    }
    for (int i = 0; i < 4; i++) s0[i] = mk_hsum(p[i]);
}

#define T512 __attribute__((target("avx2,fma,f16c,avx512f")))
#define TI512 __attribute__((target("avx2,fma,f16c,avx512f"), always_inline)) static inline

TI512 float hsum16(__m512 v) {
    __m256 s = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    return mk_hsum(s);
}

T512 void mk_dot4_f32_avx512(const float *const w[4], const float *a0, const float *a1, int64_t k, float s0[4], float s1[4]) {
    __m512 p[4], q[4];
    for (int i = 0; i < 4; i++) p[i] = q[i] = _mm512_setzero_ps();
    int64_t c = 0;
    if (a1) {
        for (; c + 16 <= k; c += 16) {
            __m512 x0 = _mm512_loadu_ps(a0 + c), x1 = _mm512_loadu_ps(a1 + c);
            for (int i = 0; i < 4; i++) {
                __m512 u = _mm512_loadu_ps(w[i] + c);
                p[i] = _mm512_fmadd_ps(u, x0, p[i]);
                q[i] = _mm512_fmadd_ps(u, x1, q[i]);
            }
        }
        if (c < k) {
            __mmask16 m = (__mmask16)((1u << (k - c)) - 1);
            __m512 x0 = _mm512_maskz_loadu_ps(m, a0 + c), x1 = _mm512_maskz_loadu_ps(m, a1 + c);
            for (int i = 0; i < 4; i++) {
                __m512 u = _mm512_maskz_loadu_ps(m, w[i] + c);
                p[i] = _mm512_fmadd_ps(u, x0, p[i]);
                q[i] = _mm512_fmadd_ps(u, x1, q[i]);
            }
        }
        for (int i = 0; i < 4; i++) { s0[i] = hsum16(p[i]); s1[i] = hsum16(q[i]); }
        return;
    }
    for (; c + 16 <= k; c += 16) {
        __m512 x0 = _mm512_loadu_ps(a0 + c);
        for (int i = 0; i < 4; i++) p[i] = _mm512_fmadd_ps(_mm512_loadu_ps(w[i] + c), x0, p[i]);
    }
    if (c < k) {
        __mmask16 m = (__mmask16)((1u << (k - c)) - 1);
        __m512 x0 = _mm512_maskz_loadu_ps(m, a0 + c);
        for (int i = 0; i < 4; i++) p[i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w[i] + c), x0, p[i]);
    }
    for (int i = 0; i < 4; i++) s0[i] = hsum16(p[i]);
}

T512 void mk_dot4x4_f32_avx512(const float *const w[4], const float *const a[4], int64_t k, float s[4][4]) {
    __m512 p[4][4];
    for (int r = 0; r < 4; r++)
        for (int i = 0; i < 4; i++) p[r][i] = _mm512_setzero_ps();
    int64_t c = 0;
    for (; c + 16 <= k; c += 16) {
        __m512 x[4];
        for (int r = 0; r < 4; r++) x[r] = _mm512_loadu_ps(a[r] + c);
        for (int i = 0; i < 4; i++) {
            __m512 u = _mm512_loadu_ps(w[i] + c);
            for (int r = 0; r < 4; r++) p[r][i] = _mm512_fmadd_ps(u, x[r], p[r][i]);
        }
    }
    if (c < k) {
        __mmask16 m = (__mmask16)((1u << (k - c)) - 1);
        __m512 x[4];
        for (int r = 0; r < 4; r++) x[r] = _mm512_maskz_loadu_ps(m, a[r] + c);
        for (int i = 0; i < 4; i++) {
            __m512 u = _mm512_maskz_loadu_ps(m, w[i] + c);
            for (int r = 0; r < 4; r++) p[r][i] = _mm512_fmadd_ps(u, x[r], p[r][i]);
        }
    }
    for (int r = 0; r < 4; r++)
        for (int i = 0; i < 4; i++) s[r][i] = hsum16(p[r][i]);
}
#endif
