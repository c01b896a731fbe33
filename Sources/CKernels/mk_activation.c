// ELU for Mimi's SEANet (about half a million elements each way per frame): e^x - 1 through
// Cody-Waite range reduction, x = n ln2 + r with |r| <= ln2 / 2, and the degree-8 Taylor
// polynomial of expm1(r) (truncation below 2e-9 relative), then 2^n (p + 1) - 1 as
// 2^n p + (2^n - 1), which keeps the small-|x| accuracy. Inputs below -87 are clamped (e^-87 - 1
// is -1 in float). The vector paths run 16 (AVX-512) or 8 (AVX2) lanes with the tail masked or
// through a zero-padded copy; the scalar path is the portable reference.
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

static inline float elu_scalar1(float x) {
    if (x > 0) return x;
    const float xc = x < -87.0f ? -87.0f : x;
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
    p = p * r;
    const int32_t sbits = (nbits + 127) << 23;
    float scale;
    memcpy(&scale, &sbits, 4);
    return fmaf(scale, p, scale - 1.0f);
}

static void elu_scalar(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = elu_scalar1(x[i]);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static inline __m256 elu8(__m256 x) {
    const __m256 xc = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
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
    p = _mm256_mul_ps(p, r);
    const __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(nbits, _mm256_set1_epi32(127)), 23));
    const __m256 e = _mm256_fmadd_ps(scale, p, _mm256_sub_ps(scale, _mm256_set1_ps(1.0f)));
    return _mm256_blendv_ps(e, x, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ));
}

__attribute__((target("avx2,fma"))) static void elu_avx2(const float *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, elu8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float t[8] = { 0 };
        memcpy(t, x + i, (size_t)(n - i) * 4);
        _mm256_storeu_ps(t, elu8(_mm256_loadu_ps(t)));
        memcpy(y + i, t, (size_t)(n - i) * 4);
    }
}

__attribute__((target("avx512f"))) static inline __m512 elu16(__m512 x) {
    const __m512 xc = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
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
    p = _mm512_mul_ps(p, r);
    const __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(nbits, _mm512_set1_epi32(127)), 23));
    const __m512 e = _mm512_fmadd_ps(scale, p, _mm512_sub_ps(scale, _mm512_set1_ps(1.0f)));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ), e, x);
}

__attribute__((target("avx512f"))) static void elu_avx512(const float *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, elu16(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(y + i, m, elu16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}
#endif

void mk_elu_f32(const float *x, float *y, int64_t n, int32_t path) {
    if (n <= 0) return;
    if (path == MK_PATH_BEST) path = mk_best_path();
    if (!mk_path_available(path)) path = MK_PATH_SCALAR;
#if defined(__x86_64__)
    if (path == MK_PATH_AVX512) { elu_avx512(x, y, n); return; }
    if (path == MK_PATH_AVX2) { elu_avx2(x, y, n); return; }
#endif
    elu_scalar(x, y, n);
}
