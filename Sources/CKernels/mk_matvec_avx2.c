// AVX2 + FMA + F16C row kernels (x86-64). Compiled for the baseline ISA with per-function
// target attributes, and only called when mk_cpu_features() reports the extensions.
#if defined(__x86_64__)
#include <immintrin.h>
#include "mk_internal.h"

#define T __attribute__((target("avx2,fma,f16c")))

T static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 sh = _mm_movehdup_ps(s);
    s = _mm_add_ps(s, sh);
    sh = _mm_movehl_ps(sh, s);
    s = _mm_add_ss(s, sh);
    return _mm_cvtss_f32(s);
}

T static inline float half(const uint8_t *p) { return _cvtsh_ss(mk_load_u16(p)); }

T static inline __m256i combine(__m128i lo, __m128i hi) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
}

// 16 signed bytes -> two vectors of 8 floats.
T static inline void s8_to_f32(__m128i v, __m256 *a, __m256 *b) {
    *a = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v));
    *b = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(v, 8)));
}

T static inline void u8_to_f32(__m128i v, __m256 *a, __m256 *b) {
    *a = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v));
    *b = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(v, 8)));
}

T static inline __m256 load_bf16(const uint8_t *p) {
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

T static inline __m256 load_f16(const uint8_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

T static float row_f32(const uint8_t *row, const float *x, int64_t n) {
    const float *w = (const float *)row;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 16), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 24), _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
    float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) s += mk_load_f32(row + 4 * i) * x[i];
    return s;
}

T static float row_16(const uint8_t *row, const float *x, int64_t n, int is_bf16) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    if (is_bf16) {
        for (; i + 32 <= n; i += 32) {
            a0 = _mm256_fmadd_ps(load_bf16(row + 2 * i), _mm256_loadu_ps(x + i), a0);
            a1 = _mm256_fmadd_ps(load_bf16(row + 2 * i + 16), _mm256_loadu_ps(x + i + 8), a1);
            a2 = _mm256_fmadd_ps(load_bf16(row + 2 * i + 32), _mm256_loadu_ps(x + i + 16), a2);
            a3 = _mm256_fmadd_ps(load_bf16(row + 2 * i + 48), _mm256_loadu_ps(x + i + 24), a3);
        }
        for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(load_bf16(row + 2 * i), _mm256_loadu_ps(x + i), a0);
    } else {
        for (; i + 32 <= n; i += 32) {
            a0 = _mm256_fmadd_ps(load_f16(row + 2 * i), _mm256_loadu_ps(x + i), a0);
            a1 = _mm256_fmadd_ps(load_f16(row + 2 * i + 16), _mm256_loadu_ps(x + i + 8), a1);
            a2 = _mm256_fmadd_ps(load_f16(row + 2 * i + 32), _mm256_loadu_ps(x + i + 16), a2);
            a3 = _mm256_fmadd_ps(load_f16(row + 2 * i + 48), _mm256_loadu_ps(x + i + 24), a3);
        }
        for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(load_f16(row + 2 * i), _mm256_loadu_ps(x + i), a0);
    }
    float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) {
        uint16_t h = mk_load_u16(row + 2 * i);
        s += (is_bf16 ? mk_bfloat_to_float(h) : _cvtsh_ss(h)) * x[i];
    }
    return s;
}

/// sum of 32 weights (as 4 x 8 floats) times x[0..32).
T static inline __m256 dot32(__m256 f0, __m256 f1, __m256 f2, __m256 f3, const float *x) {
    __m256 s = _mm256_mul_ps(f0, _mm256_loadu_ps(x));
    s = _mm256_fmadd_ps(f1, _mm256_loadu_ps(x + 8), s);
    s = _mm256_fmadd_ps(f2, _mm256_loadu_ps(x + 16), s);
    return _mm256_fmadd_ps(f3, _mm256_loadu_ps(x + 24), s);
}

T static float row_q8_0(const uint8_t *row, const float *x, int64_t n) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / MK_BLOCK; b++) {
        const uint8_t *blk = row + b * MK_Q8_0_BYTES;
        __m256i q = _mm256_loadu_si256((const __m256i *)(blk + 2));
        __m256 f0, f1, f2, f3;
        s8_to_f32(_mm256_castsi256_si128(q), &f0, &f1);
        s8_to_f32(_mm256_extracti128_si256(q, 1), &f2, &f3);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half(blk)), dot32(f0, f1, f2, f3, x + b * MK_BLOCK), acc);
    }
    return hsum(acc);
}

T static float row_q4_0(const uint8_t *row, const float *x, int64_t n) {
    const __m128i mask = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / MK_BLOCK; b++) {
        const uint8_t *blk = row + b * MK_Q4_0_BYTES;
        __m128i v = _mm_loadu_si128((const __m128i *)(blk + 2));
        __m128i lo = _mm_sub_epi8(_mm_and_si128(v, mask), eight);
        __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(v, 4), mask), eight);
        __m256 f0, f1, f2, f3;
        s8_to_f32(lo, &f0, &f1);
        s8_to_f32(hi, &f2, &f3);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half(blk)), dot32(f0, f1, f2, f3, x + b * MK_BLOCK), acc);
    }
    return hsum(acc);
}

/// MLX affine rows: per group, scale * sum(q * x) + bias * sum(x).
T static float row_mlx(const mk_matrix *w, const uint8_t *row, int64_t r, const float *x, const float *xsum) {
    const __m128i mask = _mm_set1_epi8(0x0F);
    const int64_t groups = w->cols / w->group_size;
    const int blocks_per_group = w->group_size / MK_BLOCK;
    const int is4 = w->format == MK_FORMAT_MLX4;
    __m256 acc = _mm256_setzero_ps();
    float bias_sum = 0.0f;
    for (int64_t g = 0; g < groups; g++) {
        __m256 gacc = _mm256_setzero_ps();
        float xs = 0.0f;
        for (int k = 0; k < blocks_per_group; k++) {
            int64_t b = g * blocks_per_group + k;
            __m256 f0, f1, f2, f3;
            if (is4) {
                __m128i v = _mm_loadu_si128((const __m128i *)(row + b * 16));
                __m128i lo = _mm_and_si128(v, mask), hi = _mm_and_si128(_mm_srli_epi16(v, 4), mask);
                u8_to_f32(_mm_unpacklo_epi8(lo, hi), &f0, &f1);
                u8_to_f32(_mm_unpackhi_epi8(lo, hi), &f2, &f3);
            } else {
                __m256i v = _mm256_loadu_si256((const __m256i *)(row + b * 32));
                u8_to_f32(_mm256_castsi256_si128(v), &f0, &f1);
                u8_to_f32(_mm256_extracti128_si256(v, 1), &f2, &f3);
            }
            gacc = _mm256_add_ps(gacc, dot32(f0, f1, f2, f3, x + b * MK_BLOCK));
            xs += xsum[b];
        }
        int64_t gi = r * groups + g;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(mk_scale_at(w->scales, w->scale_type, gi)), gacc, acc);
        bias_sum += mk_scale_at(w->biases, w->scale_type, gi) * xs;
    }
    return hsum(acc) + bias_sum;
}

T void mk_rows_avx2(const mk_matrix *w, const float *x, mk_scratch_view sv, float *y, int64_t r0, int64_t r1) {
    const int64_t rb = mk_row_bytes(w), n = w->cols;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * rb;
        switch (w->format) {
        case MK_FORMAT_F32: y[r] = row_f32(row, x, n); break;
        case MK_FORMAT_BF16: y[r] = row_16(row, x, n, 1); break;
        case MK_FORMAT_F16: y[r] = row_16(row, x, n, 0); break;
        case MK_FORMAT_Q8_0: y[r] = row_q8_0(row, x, n); break;
        case MK_FORMAT_Q4_0: y[r] = row_q4_0(row, x, n); break;
        case MK_FORMAT_MLX4: case MK_FORMAT_MLX8: y[r] = row_mlx(w, row, r, x, sv.xsum); break;
        default: y[r] = 0.0f; break;
        }
    }
}

// ---- int8-activation rows -------------------------------------------------------------------

/// sum over 32 pairs of signed int8 weights and int8 activations, as 8 int32 lanes.
T static inline __m256i dot_s8s8(__m256i wq, __m256i xq) {
    __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(xq, wq));
    return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

/// The same for unsigned weights 0..127 at most (4-bit values).
T static inline __m256i dot_u8s8(__m256i wq, __m256i xq) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(wq, xq), _mm256_set1_epi16(1));
}

T static float row_i8_q8_0(const uint8_t *row, mk_scratch_view sv, int64_t n) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / MK_BLOCK; b++) {
        const uint8_t *blk = row + b * MK_Q8_0_BYTES;
        __m256i wq = _mm256_loadu_si256((const __m256i *)(blk + 2));
        __m256i xq = _mm256_loadu_si256((const __m256i *)(sv.xq + b * MK_BLOCK));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half(blk) * sv.xd[b]), _mm256_cvtepi32_ps(dot_s8s8(wq, xq)), acc);
    }
    return hsum(acc);
}

T static float row_i8_q4_0(const uint8_t *row, mk_scratch_view sv, int64_t n) {
    const __m128i mask = _mm_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps();
    float correction = 0.0f;
    for (int64_t b = 0; b < n / MK_BLOCK; b++) {
        const uint8_t *blk = row + b * MK_Q4_0_BYTES;
        __m128i v = _mm_loadu_si128((const __m128i *)(blk + 2));
        __m256i wq = combine(_mm_and_si128(v, mask), _mm_and_si128(_mm_srli_epi16(v, 4), mask));
        __m256i xq = _mm256_loadu_si256((const __m256i *)(sv.xq + b * MK_BLOCK));
        float s = half(blk) * sv.xd[b];
        acc = _mm256_fmadd_ps(_mm256_set1_ps(s), _mm256_cvtepi32_ps(dot_u8s8(wq, xq)), acc);
        correction += s * (float)(8 * sv.qsum[b]);
    }
    return hsum(acc) - correction;
}

T static float row_i8_mlx(const mk_matrix *w, const uint8_t *row, int64_t r, mk_scratch_view sv) {
    const __m128i mask = _mm_set1_epi8(0x0F);
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    const int64_t groups = w->cols / w->group_size;
    const int blocks_per_group = w->group_size / MK_BLOCK;
    const int is4 = w->format == MK_FORMAT_MLX4;
    __m256 acc = _mm256_setzero_ps();
    float bias_sum = 0.0f, offset_sum = 0.0f;
    for (int64_t g = 0; g < groups; g++) {
        __m256 gacc = _mm256_setzero_ps();
        float xs = 0.0f, offset = 0.0f;
        for (int k = 0; k < blocks_per_group; k++) {
            int64_t b = g * blocks_per_group + k;
            __m256i xq = _mm256_loadu_si256((const __m256i *)(sv.xq + b * MK_BLOCK));
            __m256i dot;
            if (is4) {
                __m128i v = _mm_loadu_si128((const __m128i *)(row + b * 16));
                __m128i lo = _mm_and_si128(v, mask), hi = _mm_and_si128(_mm_srli_epi16(v, 4), mask);
                dot = dot_u8s8(combine(_mm_unpacklo_epi8(lo, hi), _mm_unpackhi_epi8(lo, hi)), xq);
            } else {
                // q in 0..255 does not fit maddubs' signed 16-bit sums: use q - 128, add 128 * sum(xq) back.
                __m256i v = _mm256_loadu_si256((const __m256i *)(row + b * 32));
                dot = dot_s8s8(_mm256_xor_si256(v, flip), xq);
                offset += sv.xd[b] * (float)(128 * sv.qsum[b]);
            }
            gacc = _mm256_fmadd_ps(_mm256_set1_ps(sv.xd[b]), _mm256_cvtepi32_ps(dot), gacc);
            xs += sv.xsum[b];
        }
        int64_t gi = r * groups + g;
        float scale = mk_scale_at(w->scales, w->scale_type, gi);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(scale), gacc, acc);
        offset_sum += scale * offset;
        bias_sum += mk_scale_at(w->biases, w->scale_type, gi) * xs;
    }
    return hsum(acc) + offset_sum + bias_sum;
}

T void mk_rows_i8_avx2(const mk_matrix *w, mk_scratch_view sv, float *y, int64_t r0, int64_t r1) {
    const int64_t rb = mk_row_bytes(w), n = w->cols;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * rb;
        switch (w->format) {
        case MK_FORMAT_Q8_0: y[r] = row_i8_q8_0(row, sv, n); break;
        case MK_FORMAT_Q4_0: y[r] = row_i8_q4_0(row, sv, n); break;
        case MK_FORMAT_MLX4: case MK_FORMAT_MLX8: y[r] = row_i8_mlx(w, row, r, sv); break;
        default: y[r] = 0.0f; break;
        }
    }
}

T double mk_read_avx2(const void *data, int64_t bytes) {
    const uint8_t *p = data;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 128 <= bytes; i += 128) {
        a0 = _mm256_xor_si256(a0, _mm256_loadu_si256((const __m256i *)(p + i)));
        a1 = _mm256_xor_si256(a1, _mm256_loadu_si256((const __m256i *)(p + i + 32)));
        a2 = _mm256_xor_si256(a2, _mm256_loadu_si256((const __m256i *)(p + i + 64)));
        a3 = _mm256_xor_si256(a3, _mm256_loadu_si256((const __m256i *)(p + i + 96)));
    }
    __m256i a = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
    return (double)(_mm256_extract_epi32(a, 0) & 0xFFFF);
}
#endif
