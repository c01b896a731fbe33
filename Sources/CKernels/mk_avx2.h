// Inline helpers shared by the AVX2 kernel files (x86-64 only; every function carries the
// avx2,fma,f16c target attribute, so including files need no special flags).
#ifndef MOSHI_MK_AVX2_H
#define MOSHI_MK_AVX2_H
#if defined(__x86_64__)
#include <immintrin.h>
#include "mk_internal.h"

#define MK_T __attribute__((target("avx2,fma,f16c")))
#define MK_TI __attribute__((target("avx2,fma,f16c"), always_inline)) static inline

MK_TI float mk_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 sh = _mm_movehdup_ps(s);
    s = _mm_add_ps(s, sh);
    sh = _mm_movehl_ps(sh, s);
    s = _mm_add_ss(s, sh);
    return _mm_cvtss_f32(s);
}

/// Bytes from a 4-row group's first row to the group whose rows are prefetched: the next group,
/// or, for short rows, the first group at least 8 KiB ahead (a 1024-column MLX 4-bit group is 2.5
/// KiB, less than one core's reads in flight: prefetching only the next group left the depformer's
/// products at 13.7 GB/s on one core of Zen 4, 8 KiB ahead gave 19 GB/s).
MK_TI int64_t mk_prefetch_ahead(int64_t rb) {
    int64_t ahead = 4 * rb;
    while (ahead > 0 && ahead < 8192) ahead += 4 * rb;
    return ahead;
}

/// Asks for byte `offset` of the `nr` rows from `next` (a group's first row + mk_prefetch_ahead) to
/// be brought into L2. The 4-row kernels read four rows side by side; the hardware prefetcher
/// follows the first (it continues the previous group's last row) but the other three are new
/// streams of a few dozen cache lines each that it picks up too late. Called once per 64 bytes of a
/// row, this about doubles the read rate of the quantized formats from memory (Zen 4: Q8_0 int8
/// 12 -> 24 GB/s on one core); L1 (T0) or two groups ahead of 8 KiB groups were measured slower.
MK_TI void mk_prefetch_rows(const uint8_t *next, int64_t rb, int nr, int64_t offset) {
    for (int i = 0; i < nr; i++) _mm_prefetch((const char *)(next + offset + i * rb), _MM_HINT_T1);
}

/// A GGUF block's f16 scale, broadcast: vcvtph2ps of the block's first 8 bytes (the scale and
/// 6 bytes of its own quants, ignored), then vbroadcastss.
MK_TI __m256 mk_bcast_block_scale(const uint8_t *blk) {
    return _mm256_broadcastss_ps(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)blk)));
}

/// MLX scale or bias i of an array stored as `type` (a compile-time constant at every call).
MK_TI float mk_scale_value(const void *p, int type, int64_t i) {
    switch (type) {
    case MK_SCALE_F16: return _cvtsh_ss(mk_load_u16((const uint8_t *)p + 2 * i));
    case MK_SCALE_BF16: return mk_bfloat_to_float(mk_load_u16((const uint8_t *)p + 2 * i));
    default: return mk_load_f32((const uint8_t *)p + 4 * i);
    }
}

MK_TI __m256 mk_bcast_scale(const void *p, int type, int64_t i) { return _mm256_set1_ps(mk_scale_value(p, type, i)); }

/// MLX scales or biases i..i+7 as floats.
MK_TI __m256 mk_load8_scales(const void *p, int type, int64_t i) {
    switch (type) {
    case MK_SCALE_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint8_t *)p + 2 * i)));
    case MK_SCALE_BF16: {
        __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint8_t *)p + 2 * i)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    }
    default: return _mm256_loadu_ps((const float *)((const uint8_t *)p + 4 * i));
    }
}

/// sum_g bias[first + g] * xsum[g] over `groups` groups: an MLX row's bias term.
MK_TI float mk_bias_dot(const void *biases, int type, int64_t first, const float *xsum, int64_t groups) {
    __m256 acc = _mm256_setzero_ps();
    int64_t g = 0;
    for (; g + 8 <= groups; g += 8) acc = _mm256_fmadd_ps(mk_load8_scales(biases, type, first + g), _mm256_loadu_ps(xsum + g), acc);
    float s = mk_hsum(acc);
    for (; g < groups; g++) s += mk_scale_value(biases, type, first + g) * xsum[g];
    return s;
}
#endif
#endif
