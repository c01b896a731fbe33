// Exact matrix-vector rows with AVX2 + FMA + F16C (x86-64): f32 arithmetic on exactly the
// dequantized weights. Compiled for the baseline ISA with per-function target attributes and
// only called when mk_cpu_features() reports the extensions.
//
// The quantized formats run four rows at a time: each block of x is loaded once for four
// rows, and the four accumulators are independent chains. Two algebraic rewrites, equal to the
// element-wise definition up to float rounding: Q4_0 sums d * (sum q*x - 8 * sum x) per block,
// and MLX sums scale * sum(q*x) + bias * sum(x) per group (what MLX's own kernels do).
#if defined(__x86_64__)
#include "mk_avx2.h"

#define T MK_T
#define TI MK_TI

/// 8 bytes at p, sign- or zero-extended to 8 int32 lanes (one vpmovsxbd/vpmovzxbd from memory).
TI __m256i s8x8(const uint8_t *p) { return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)); }
TI __m256i u8x8(const uint8_t *p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)); }
TI __m256 f32i(__m256i v) { return _mm256_cvtepi32_ps(v); }

// ---- f32, bf16, f16: one row at a time, four accumulators -----------------------------------

TI __m256 load_bf16(const uint8_t *p) {
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

TI __m256 load_f16(const uint8_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

/// 8 weights of a dense row starting at element i.
TI __m256 load_dense(const uint8_t *row, int64_t i, int format) {
    switch (format) {
    case MK_FORMAT_BF16: return load_bf16(row + 2 * i);
    case MK_FORMAT_F16: return load_f16(row + 2 * i);
    default: return _mm256_loadu_ps((const float *)(row + 4 * i));
    }
}

TI float dense_element(const uint8_t *row, int64_t i, int format) {
    switch (format) {
    case MK_FORMAT_BF16: return mk_bfloat_to_float(mk_load_u16(row + 2 * i));
    case MK_FORMAT_F16: return _cvtsh_ss(mk_load_u16(row + 2 * i));
    default: return mk_load_f32(row + 4 * i);
    }
}

TI float dense_row(const uint8_t *row, const float *x, int64_t n, int format) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(load_dense(row, i, format), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(load_dense(row, i + 8, format), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(load_dense(row, i + 16, format), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(load_dense(row, i + 24, format), _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(load_dense(row, i, format), _mm256_loadu_ps(x + i), a0);
    float s = mk_hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) s += dense_element(row, i, format) * x[i];
    return s;
}

TI void dense_rows(const mk_matrix *w, const float *x, mk_out out, int64_t r0, int64_t r1, int format) {
    const int64_t rb = mk_row_bytes(w);
    for (int64_t r = r0; r < r1; r++) mk_store(out, r, dense_row((const uint8_t *)w->data + r * rb, x, w->cols, format));
}

// ---- GGUF Q8_0 and Q4_0: `nr` rows (1 or 4) at a time ---------------------------------------

TI void q8_0_group(const uint8_t *row, int64_t rb, int nr, const float *x, int64_t nb, float *dots) {
    const uint8_t *ahead = row + mk_prefetch_ahead(rb);     // rows to prefetch
    __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    for (int64_t b = 0; b < nb; b++) {
        const float *xb = x + b * MK_BLOCK;
        __m256 x0 = _mm256_loadu_ps(xb), x1 = _mm256_loadu_ps(xb + 8);
        __m256 x2 = _mm256_loadu_ps(xb + 16), x3 = _mm256_loadu_ps(xb + 24);
        mk_prefetch_rows(ahead, rb, nr, b * MK_Q8_0_BYTES);
        for (int i = 0; i < nr; i++) {
            const uint8_t *blk = row + i * rb + b * MK_Q8_0_BYTES;
            __m256 s = _mm256_mul_ps(f32i(s8x8(blk + 2)), x0);
            s = _mm256_fmadd_ps(f32i(s8x8(blk + 10)), x1, s);
            s = _mm256_fmadd_ps(f32i(s8x8(blk + 18)), x2, s);
            s = _mm256_fmadd_ps(f32i(s8x8(blk + 26)), x3, s);
            acc[i] = _mm256_fmadd_ps(mk_bcast_block_scale(blk), s, acc[i]);
        }
    }
    for (int i = 0; i < nr; i++) dots[i] = mk_hsum(acc[i]);
}

TI void q4_0_group(const uint8_t *row, int64_t rb, int nr, const float *x, const float *m8, int64_t nb, float *dots) {
    const uint8_t *ahead = row + mk_prefetch_ahead(rb);     // rows to prefetch
    const __m256i low = _mm256_set1_epi32(0x0F);
    __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    for (int64_t b = 0; b < nb; b++) {
        const float *xb = x + b * MK_BLOCK;
        __m256 x0 = _mm256_loadu_ps(xb), x1 = _mm256_loadu_ps(xb + 8);
        __m256 x2 = _mm256_loadu_ps(xb + 16), x3 = _mm256_loadu_ps(xb + 24);
        __m256 start = _mm256_loadu_ps(m8 + 8 * b);
        if (b % 3 == 0) mk_prefetch_rows(ahead, rb, nr, b * MK_Q4_0_BYTES);
        for (int i = 0; i < nr; i++) {
            const uint8_t *blk = row + i * rb + b * MK_Q4_0_BYTES;
            __m256i w0 = u8x8(blk + 2), w1 = u8x8(blk + 10);       // bytes 0..7 and 8..15
            __m256 s = _mm256_fmadd_ps(f32i(_mm256_and_si256(w0, low)), x0, start);      // elements 0..7
            s = _mm256_fmadd_ps(f32i(_mm256_and_si256(w1, low)), x1, s);                // 8..15
            s = _mm256_fmadd_ps(f32i(_mm256_srli_epi32(w0, 4)), x2, s);                 // 16..23
            s = _mm256_fmadd_ps(f32i(_mm256_srli_epi32(w1, 4)), x3, s);                 // 24..31
            acc[i] = _mm256_fmadd_ps(mk_bcast_block_scale(blk), s, acc[i]);
        }
    }
    for (int i = 0; i < nr; i++) dots[i] = mk_hsum(acc[i]);
}

TI void gguf_rows(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1, int format) {
    const int64_t rb = mk_row_bytes(w), nb = w->cols / MK_BLOCK;
    const uint8_t *base = (const uint8_t *)w->data;
    float dots[4];
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        if (format == MK_FORMAT_Q8_0) q8_0_group(base + r * rb, rb, 4, x, nb, dots);
        else q4_0_group(base + r * rb, rb, 4, x, sv->kvec, nb, dots);
        for (int i = 0; i < 4; i++) mk_store(out, r + i, dots[i]);
    }
    for (; r < r1; r++) {
        if (format == MK_FORMAT_Q8_0) q8_0_group(base + r * rb, rb, 1, x, nb, dots);
        else q4_0_group(base + r * rb, rb, 1, x, sv->kvec, nb, dots);
        mk_store(out, r, dots[0]);
    }
}

// ---- MLX affine 4- and 8-bit: `nr` rows at a time, per group scale * sum(q x) + bias * sum(x) --

TI void mlx_group(const mk_matrix *w, int64_t r, int nr, const float *xv, const float *xsum, int is4, int stype, float *dots) {
    const __m256i low = _mm256_set1_epi32(0x0F);
    const int64_t rb = mk_row_bytes(w), groups = w->cols / w->group_size;
    const int bpg = w->group_size / MK_BLOCK;
    const uint8_t *row = (const uint8_t *)w->data + r * rb;
    const uint8_t *ahead = row + mk_prefetch_ahead(rb);     // rows to prefetch
    __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    for (int64_t g = 0; g < groups; g++) {
        __m256 s[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
        for (int k = 0; k < bpg; k++) {
            const int64_t b = g * bpg + k;
            const float *xb = xv + b * MK_BLOCK;   // MLX4: x reordered evens, then odds per 32 (xp)
            __m256 x0 = _mm256_loadu_ps(xb), x1 = _mm256_loadu_ps(xb + (is4 ? 16 : 8));
            __m256 x2 = _mm256_loadu_ps(xb + (is4 ? 8 : 16)), x3 = _mm256_loadu_ps(xb + 24);
            if (b % (is4 ? 4 : 2) == 0) mk_prefetch_rows(ahead, rb, nr, b * (is4 ? 16 : 32));
            for (int i = 0; i < nr; i++) {
                if (is4) {
                    const uint8_t *p = row + i * rb + b * 16;
                    __m256i w0 = u8x8(p), w1 = u8x8(p + 8);
                    s[i] = _mm256_fmadd_ps(f32i(_mm256_and_si256(w0, low)), x0, s[i]);   // elements 0,2,..14
                    s[i] = _mm256_fmadd_ps(f32i(_mm256_srli_epi32(w0, 4)), x1, s[i]);    // 1,3,..15
                    s[i] = _mm256_fmadd_ps(f32i(_mm256_and_si256(w1, low)), x2, s[i]);   // 16,18,..30
                    s[i] = _mm256_fmadd_ps(f32i(_mm256_srli_epi32(w1, 4)), x3, s[i]);    // 17,..31
                } else {
                    const uint8_t *p = row + i * rb + b * 32;
                    s[i] = _mm256_fmadd_ps(f32i(u8x8(p)), x0, s[i]);
                    s[i] = _mm256_fmadd_ps(f32i(u8x8(p + 8)), x1, s[i]);
                    s[i] = _mm256_fmadd_ps(f32i(u8x8(p + 16)), x2, s[i]);
                    s[i] = _mm256_fmadd_ps(f32i(u8x8(p + 24)), x3, s[i]);
                }
            }
        }
        for (int i = 0; i < nr; i++) {
            int64_t gi = (r + i) * groups + g;
            acc[i] = _mm256_fmadd_ps(mk_bcast_scale(w->scales, stype, gi), s[i], acc[i]);
        }
    }
    for (int i = 0; i < nr; i++) dots[i] = mk_hsum(acc[i]) + mk_bias_dot(w->biases, stype, (r + i) * groups, xsum, groups);
}

TI void mlx_rows(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1, int is4, int stype) {
    const float *xv = is4 ? sv->xp : x;
    float dots[4];
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        mlx_group(w, r, 4, xv, sv->xsum, is4, stype, dots);
        for (int i = 0; i < 4; i++) mk_store(out, r + i, dots[i]);
    }
    for (; r < r1; r++) {
        mlx_group(w, r, 1, xv, sv->xsum, is4, stype, dots);
        mk_store(out, r, dots[0]);
    }
}

T void mk_rows_avx2(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1) {
    switch (w->format) {
    case MK_FORMAT_F32: dense_rows(w, x, out, r0, r1, MK_FORMAT_F32); break;
    case MK_FORMAT_BF16: dense_rows(w, x, out, r0, r1, MK_FORMAT_BF16); break;
    case MK_FORMAT_F16: dense_rows(w, x, out, r0, r1, MK_FORMAT_F16); break;
    case MK_FORMAT_Q8_0: gguf_rows(w, x, sv, out, r0, r1, MK_FORMAT_Q8_0); break;
    case MK_FORMAT_Q4_0: gguf_rows(w, x, sv, out, r0, r1, MK_FORMAT_Q4_0); break;
    case MK_FORMAT_MLX4: case MK_FORMAT_MLX8: {
        int is4 = w->format == MK_FORMAT_MLX4;
        switch (w->scale_type) {
        case MK_SCALE_F16:
            if (is4) mlx_rows(w, x, sv, out, r0, r1, 1, MK_SCALE_F16); else mlx_rows(w, x, sv, out, r0, r1, 0, MK_SCALE_F16);
            break;
        case MK_SCALE_BF16:
            if (is4) mlx_rows(w, x, sv, out, r0, r1, 1, MK_SCALE_BF16); else mlx_rows(w, x, sv, out, r0, r1, 0, MK_SCALE_BF16);
            break;
        default:
            if (is4) mlx_rows(w, x, sv, out, r0, r1, 1, MK_SCALE_F32); else mlx_rows(w, x, sv, out, r0, r1, 0, MK_SCALE_F32);
            break;
        }
        break;
    }
    default:
        for (int64_t r = r0; r < r1; r++) mk_store(out, r, 0.0f);
        break;
    }
}
#endif
