// Element-wise activations of Mimi: SEANet's ELU and the transformers' exact GELU.
//
// ELU (about half a million elements each way per frame): e^x - 1 through
// Cody-Waite range reduction, x = n ln2 + r with |r| <= ln2 / 2, and the degree-8 Taylor
// polynomial of expm1(r) (truncation below 2e-9 relative), then 2^n (p + 1) - 1 as
// 2^n p + (2^n - 1), which keeps the small-|x| accuracy. Inputs below -87 are clamped (e^-87 - 1
// is -1 in float). The vector paths run 16 (AVX-512) or 8 (AVX2) lanes with the tail masked or
// through a zero-padded copy; the scalar path is the portable reference. GELU's erf is below.
#include "mk_activation.h"
#include "mk_matvec.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define LOG2E 1.44269504f
#define LN2_HI 0.693359375f
#define LN2_LO (-2.12194440e-4f)
#define MAGIC 12582912.0f   // 1.5 * 2^23: adding it rounds to an integer held in the low bits
static const float C8 = 1.0f / 40320, C7 = 1.0f / 5040, C6 = 1.0f / 720, C5 = 1.0f / 120,
                   C4 = 1.0f / 24, C3 = 1.0f / 6, C2 = 0.5f;

// erf (for GELU): on |x| <= 1, x c0 + x u Q(u) with u = x^2 and c0 = 2/sqrt(pi) split in two
// floats; on 1 < |x| < 4, 1 - e^(-x^2) R(1/|x|) with x^2 split exactly in two floats (the low
// part corrects e^(-x^2) to first order); 1 beyond (erf(4) rounds to 1). Q (degree 6) and R
// (degree 10) are least-squares fits to mpmath's erf at 500 Chebyshev nodes; in float, with
// fused multiply-adds and a correctly rounded e^x, the result is within 1.1 ulp of erf on
// [0, 4.5] (the fit and its check: Tests/MoshiNumericsTests/Ops/Fixtures/fit_erf.py); with
// this file's e^x, 1.2 ulp (ActivationTests).
#define ERF_C0_HI 1.128379226f
#define ERF_C0_LO (-5.863538277e-08f)
static const float ERF_Q[7] = { -3.761263788e-01f, 1.128379032e-01f, -2.686593123e-02f, 5.222555250e-03f,
                                -8.507473394e-04f, 1.144227426e-04f, -1.018539024e-05f };
static const float ERF_R[11] = { 2.597589082e-05f, 5.637189150e-01f, 3.018865362e-03f, -2.852058709e-01f,
                                 -6.919737160e-02f, 8.993145227e-01f, -1.523776054e+00f, 1.423705220e+00f,
                                 -8.103981614e-01f, 2.645809054e-01f, -3.820337355e-02f };
#define INV_SQRT2 0.70710678118654752f

/// 2^n and r with x = n ln2 + r, |r| <= ln2 / 2, and p = expm1(r) (x in [-87, 88]).
static inline float exp_parts(float xc, float *p_out) {
    const float shifted = fmaf(xc, LOG2E, MAGIC);
    const float n = shifted - MAGIC;
    int32_t nbits;
    memcpy(&nbits, &shifted, 4);
    nbits -= 0x4B400000;
    const float r = fmaf(n, -LN2_LO, fmaf(n, -LN2_HI, xc));
    float p = fmaf(C8, r, C7);
    p = fmaf(p, r, C6);
    p = fmaf(p, r, C5);
    p = fmaf(p, r, C4);
    p = fmaf(p, r, C3);
    p = fmaf(p, r, C2);
    p = fmaf(p, r, 1.0f);
    *p_out = p * r;
    const int32_t sbits = (nbits + 127) << 23;
    float scale;
    memcpy(&scale, &sbits, 4);
    return scale;
}

static inline float erf_scalar1(float x) {
    const float a = fabsf(x);
    if (a <= 1.0f) {
        const float u = x * x;
        float q = ERF_Q[6];
        for (int i = 5; i >= 0; i--) q = fmaf(q, u, ERF_Q[i]);
        return fmaf(x, ERF_C0_HI, x * fmaf(u, q, ERF_C0_LO));
    }
    if (!(a < 4.0f)) return a >= 4.0f ? copysignf(1.0f, x) : x;
    const float t = 1.0f / a;
    float r = ERF_R[10];
    for (int i = 9; i >= 0; i--) r = fmaf(r, t, ERF_R[i]);
    const float h = a * a, l = fmaf(a, a, -h);
    float p;
    const float scale = exp_parts(-h, &p);
    float e = fmaf(scale, p, scale);
    e = fmaf(-e, l, e);
    return copysignf(fmaf(-e, r, 1.0f), x);
}

static void erf_scalar(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = erf_scalar1(x[i]);
}

static void gelu_scalar(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * 0.5f * (1.0f + erf_scalar1(x[i] * INV_SQRT2));
}

static inline float elu_scalar1(float x) {
    if (x > 0) return x;
    float p;
    const float scale = exp_parts(x < -87.0f ? -87.0f : x, &p);
    return fmaf(scale, p, scale - 1.0f);
}

static void elu_scalar(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = elu_scalar1(x[i]);
}

#if defined(__x86_64__)
#define T2 __attribute__((target("avx2,fma"), always_inline)) static inline
#define T5 __attribute__((target("avx512f"), always_inline)) static inline

/// 2^n (returned) and expm1(r) (in *p) for x = n ln2 + r, 8 lanes (x in [-87, 88]).
T2 __m256 exp_parts8(__m256 xc, __m256 *p_out) {
    const __m256 magic = _mm256_set1_ps(MAGIC);
    const __m256 shifted = _mm256_fmadd_ps(xc, _mm256_set1_ps(LOG2E), magic);
    const __m256 n = _mm256_sub_ps(shifted, magic);
    const __m256i nbits = _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(0x4B400000));
    const __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), xc));
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(C8), r, _mm256_set1_ps(C7));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(C6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(C5));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(C4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(C3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(C2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    *p_out = _mm256_mul_ps(p, r);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(nbits, _mm256_set1_epi32(127)), 23));
}

T2 __m256 elu8(__m256 x) {
    __m256 p;
    const __m256 scale = exp_parts8(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), &p);
    const __m256 e = _mm256_fmadd_ps(scale, p, _mm256_sub_ps(scale, _mm256_set1_ps(1.0f)));
    return _mm256_blendv_ps(e, x, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ));
}

T2 __m256 erf8(__m256 v) {
    const __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
    const __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
    const __m256 u = _mm256_mul_ps(v, v);
    __m256 q = _mm256_set1_ps(ERF_Q[6]);
    for (int i = 5; i >= 0; i--) q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(ERF_Q[i]));
    const __m256 small = _mm256_fmadd_ps(v, _mm256_set1_ps(ERF_C0_HI),
                                         _mm256_mul_ps(v, _mm256_fmadd_ps(u, q, _mm256_set1_ps(ERF_C0_LO))));
    const __m256 ac = _mm256_min_ps(_mm256_max_ps(a, _mm256_set1_ps(1.0f)), _mm256_set1_ps(4.0f));
    const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), ac);
    __m256 r = _mm256_set1_ps(ERF_R[10]);
    for (int i = 9; i >= 0; i--) r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(ERF_R[i]));
    const __m256 h = _mm256_mul_ps(ac, ac), l = _mm256_fmsub_ps(ac, ac, h);
    __m256 p;
    const __m256 scale = exp_parts8(_mm256_sub_ps(_mm256_setzero_ps(), h), &p);
    __m256 e = _mm256_fmadd_ps(scale, p, scale);
    e = _mm256_fnmadd_ps(e, l, e);
    __m256 large = _mm256_fnmadd_ps(e, r, _mm256_set1_ps(1.0f));
    large = _mm256_blendv_ps(large, _mm256_set1_ps(1.0f), _mm256_cmp_ps(a, _mm256_set1_ps(4.0f), _CMP_GE_OQ));
    large = _mm256_or_ps(large, sign);
    return _mm256_blendv_ps(large, small, _mm256_cmp_ps(a, _mm256_set1_ps(1.0f), _CMP_LE_OQ));
}

T2 __m256 gelu8(__m256 x) {
    const __m256 erf = erf8(_mm256_mul_ps(x, _mm256_set1_ps(INV_SQRT2)));
    return _mm256_mul_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.5f)), _mm256_add_ps(_mm256_set1_ps(1.0f), erf));
}

/// Applies `f` to n floats, 8 at a time, the tail through a zero-padded copy.
#define MAP8(f, x, y, n) do { \
    int64_t i_ = 0; \
    for (; i_ + 8 <= (n); i_ += 8) _mm256_storeu_ps((y) + i_, f(_mm256_loadu_ps((x) + i_))); \
    if (i_ < (n)) { \
        float t_[8] = { 0 }; \
        memcpy(t_, (x) + i_, (size_t)((n) - i_) * 4); \
        _mm256_storeu_ps(t_, f(_mm256_loadu_ps(t_))); \
        memcpy((y) + i_, t_, (size_t)((n) - i_) * 4); \
    } } while (0)

__attribute__((target("avx2,fma"))) static void elu_avx2(const float *x, float *y, int64_t n) { MAP8(elu8, x, y, n); }
__attribute__((target("avx2,fma"))) static void gelu_avx2(const float *x, float *y, int64_t n) { MAP8(gelu8, x, y, n); }
__attribute__((target("avx2,fma"))) static void erf_avx2(const float *x, float *y, int64_t n) { MAP8(erf8, x, y, n); }

/// e^(x - m) for x <= m, exactly 0 where x - m < -87 (so for x = -inf).
T2 __m256 shifted_exp8(__m256 x, __m256 m) {
    const __m256 d = _mm256_sub_ps(x, m);
    __m256 p;
    const __m256 scale = exp_parts8(_mm256_max_ps(d, _mm256_set1_ps(-87.0f)), &p);
    return _mm256_and_ps(_mm256_fmadd_ps(scale, p, scale), _mm256_cmp_ps(d, _mm256_set1_ps(-87.0f), _CMP_GE_OQ));
}

/// 2^n (returned) and expm1(r) (in *p) for x = n ln2 + r, 16 lanes (x in [-87, 88]).
T5 __m512 exp_parts16(__m512 xc, __m512 *p_out) {
    const __m512 magic = _mm512_set1_ps(MAGIC);
    const __m512 shifted = _mm512_fmadd_ps(xc, _mm512_set1_ps(LOG2E), magic);
    const __m512 n = _mm512_sub_ps(shifted, magic);
    const __m512i nbits = _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(0x4B400000));
    const __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), xc));
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(C8), r, _mm512_set1_ps(C7));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(C6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(C5));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(C4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(C3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(C2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    *p_out = _mm512_mul_ps(p, r);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(nbits, _mm512_set1_epi32(127)), 23));
}

T5 __m512 elu16(__m512 x) {
    __m512 p;
    const __m512 scale = exp_parts16(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), &p);
    const __m512 e = _mm512_fmadd_ps(scale, p, _mm512_sub_ps(scale, _mm512_set1_ps(1.0f)));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ), e, x);
}

T5 __m512 erf16(__m512 v) {
    const __m512i signbit = _mm512_set1_epi32((int)0x80000000u);
    const __m512i sign = _mm512_and_si512(_mm512_castps_si512(v), signbit);
    const __m512 a = _mm512_castsi512_ps(_mm512_andnot_si512(signbit, _mm512_castps_si512(v)));
    const __m512 u = _mm512_mul_ps(v, v);
    __m512 q = _mm512_set1_ps(ERF_Q[6]);
    for (int i = 5; i >= 0; i--) q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(ERF_Q[i]));
    const __m512 small = _mm512_fmadd_ps(v, _mm512_set1_ps(ERF_C0_HI),
                                         _mm512_mul_ps(v, _mm512_fmadd_ps(u, q, _mm512_set1_ps(ERF_C0_LO))));
    const __m512 ac = _mm512_min_ps(_mm512_max_ps(a, _mm512_set1_ps(1.0f)), _mm512_set1_ps(4.0f));
    const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), ac);
    __m512 r = _mm512_set1_ps(ERF_R[10]);
    for (int i = 9; i >= 0; i--) r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(ERF_R[i]));
    const __m512 h = _mm512_mul_ps(ac, ac), l = _mm512_fmsub_ps(ac, ac, h);
    __m512 p;
    const __m512 scale = exp_parts16(_mm512_sub_ps(_mm512_setzero_ps(), h), &p);
    __m512 e = _mm512_fmadd_ps(scale, p, scale);
    e = _mm512_fnmadd_ps(e, l, e);
    __m512 large = _mm512_fnmadd_ps(e, r, _mm512_set1_ps(1.0f));
    large = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, _mm512_set1_ps(4.0f), _CMP_GE_OQ), large, _mm512_set1_ps(1.0f));
    large = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(large), sign));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, _mm512_set1_ps(1.0f), _CMP_LE_OQ), large, small);
}

T5 __m512 gelu16(__m512 x) {
    const __m512 erf = erf16(_mm512_mul_ps(x, _mm512_set1_ps(INV_SQRT2)));
    return _mm512_mul_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.5f)), _mm512_add_ps(_mm512_set1_ps(1.0f), erf));
}

/// Applies `f` to n floats, 16 at a time, the tail masked.
#define MAP16(f, x, y, n) do { \
    int64_t i_ = 0; \
    for (; i_ + 16 <= (n); i_ += 16) _mm512_storeu_ps((y) + i_, f(_mm512_loadu_ps((x) + i_))); \
    if (i_ < (n)) { \
        const __mmask16 m_ = (__mmask16)((1u << ((n) - i_)) - 1u); \
        _mm512_mask_storeu_ps((y) + i_, m_, f(_mm512_maskz_loadu_ps(m_, (x) + i_))); \
    } } while (0)

__attribute__((target("avx512f"))) static void elu_avx512(const float *x, float *y, int64_t n) { MAP16(elu16, x, y, n); }
__attribute__((target("avx512f"))) static void gelu_avx512(const float *x, float *y, int64_t n) { MAP16(gelu16, x, y, n); }
__attribute__((target("avx512f"))) static void erf_avx512(const float *x, float *y, int64_t n) { MAP16(erf16, x, y, n); }

/// e^(x - m) for x <= m, exactly 0 where x - m < -87 (so for x = -inf).
T5 __m512 shifted_exp16(__m512 x, __m512 m) {
    const __m512 d = _mm512_sub_ps(x, m);
    __m512 p;
    const __m512 scale = exp_parts16(_mm512_max_ps(d, _mm512_set1_ps(-87.0f)), &p);
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(d, _mm512_set1_ps(-87.0f), _CMP_GE_OQ), _mm512_fmadd_ps(scale, p, scale));
}
#endif

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void softmax_exp_avx2(float *x, int64_t n, float max) {
    const __m256 m = _mm256_set1_ps(max);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, shifted_exp8(_mm256_loadu_ps(x + i), m));
    if (i < n) {
        float t[8] = { 0 };
        memcpy(t, x + i, (size_t)(n - i) * 4);
        _mm256_storeu_ps(t, shifted_exp8(_mm256_loadu_ps(t), m));
        memcpy(x + i, t, (size_t)(n - i) * 4);
    }
}

__attribute__((target("avx512f"))) static void softmax_exp_avx512(float *x, int64_t n, float max) {
    const __m512 m = _mm512_set1_ps(max);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, shifted_exp16(_mm512_loadu_ps(x + i), m));
    if (i < n) {
        const __mmask16 k = (__mmask16)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(x + i, k, shifted_exp16(_mm512_maskz_loadu_ps(k, x + i), m));
    }
}
#endif

/// The path a call runs: `path` resolved (MK_PATH_BEST) and capped to what this CPU has.
static int resolve(int32_t path) {
    if (path == MK_PATH_BEST) path = mk_best_path();
    return mk_path_available(path) ? path : MK_PATH_SCALAR;
}

typedef void (*map_fn)(const float *x, float *y, int64_t n);

/// Runs one of a function's three versions (the vector ones only where x86-64 has them).
static void map(map_fn scalar, map_fn avx2, map_fn avx512, const float *x, float *y, int64_t n, int32_t path) {
    if (n <= 0) return;
    path = resolve(path);
#if defined(__x86_64__)
    if (path == MK_PATH_AVX512) { avx512(x, y, n); return; }
    if (path == MK_PATH_AVX2) { avx2(x, y, n); return; }
#else
    (void)avx2; (void)avx512;
#endif
    scalar(x, y, n);
}

#if defined(__x86_64__)
#define VERSIONS(f) f##_scalar, f##_avx2, f##_avx512
#else
#define VERSIONS(f) f##_scalar, 0, 0
#endif

void mk_elu_f32(const float *x, float *y, int64_t n, int32_t path) { map(VERSIONS(elu), x, y, n, path); }
void mk_gelu_f32(const float *x, float *y, int64_t n, int32_t path) { map(VERSIONS(gelu), x, y, n, path); }
void mk_erf_f32(const float *x, float *y, int64_t n, int32_t path) { map(VERSIONS(erf), x, y, n, path); }

void mk_softmax_exp_f32(float *x, int64_t n, float max, int32_t path) {
    if (n <= 0) return;
    path = resolve(path);
#if defined(__x86_64__)
    if (path == MK_PATH_AVX512) { softmax_exp_avx512(x, n, max); return; }
    if (path == MK_PATH_AVX2) { softmax_exp_avx2(x, n, max); return; }
#endif
    for (int64_t i = 0; i < n; i++) {
        const float d = x[i] - max;
        float p;
        const float scale = exp_parts(d < -87.0f ? -87.0f : d, &p);
        x[i] = d >= -87.0f ? fmaf(scale, p, scale) : 0.0f;
    }
}
