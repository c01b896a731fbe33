// int8-activation matrix-vector rows with AVX2 (x86-64), as llama.cpp and candle do for GGUF:
// x was quantized per 32-block to int8 (mk_matvec.c); each block's dot product is exact integer
// arithmetic (vpmaddubsw + vpmaddwd), scaled by the weight and activation scales in f32.
// Four rows at a time share each block of x. Results equal mk_rows_i8_scalar's up to the
// order of the float sums.
#if defined(__x86_64__)
#include "mk_avx2.h"

#define T MK_T
#define TI MK_TI

/// Lane sums of 32 products of unsigned bytes u (<= 128 as unsigned) and signed bytes s (|s| <= 127):
/// pairs reach at most 2 * 128 * 127 = 32512, so vpmaddubsw never saturates.
TI __m256i dot_u8s8(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/// The same for signed w (-128..127) and signed x: |w| times x with w's sign moved onto x.
TI __m256i dot_s8s8(__m256i w, __m256i x) { return dot_u8s8(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w)); }

/// 16 bytes of nibbles as 32 bytes: low nibbles of bytes 0..15, then high nibbles of bytes 0..15.
TI __m256i nibbles(const uint8_t *p) {
    __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p));
    return _mm256_and_si256(_mm256_srlv_epi64(v, _mm256_set_epi64x(4, 4, 0, 0)), _mm256_set1_epi8(0x0F));
}

// ---- GGUF Q8_0 and Q4_0 -----------------------------------------------------------------------

TI void gguf_group(const uint8_t *row, int64_t rb, int nr, const mk_scratch_view *sv, int64_t nb, int is_q8, float *dots) {
    const uint8_t *ahead = row + mk_prefetch_ahead(rb);     // rows to prefetch
    __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    const int64_t bb = is_q8 ? MK_Q8_0_BYTES : MK_Q4_0_BYTES;
    for (int64_t b = 0; b < nb; b++) {
        __m256i xq = _mm256_loadu_si256((const __m256i *)(sv->xq + b * MK_BLOCK));
        __m256 xd = _mm256_set1_ps(sv->xd[b]);
        __m256i k = is_q8 ? _mm256_setzero_si256() : _mm256_loadu_si256((const __m256i *)((const int32_t *)sv->kvec + 8 * b));
        if (is_q8 || b % 3 == 0) mk_prefetch_rows(ahead, rb, nr, b * bb);
        for (int i = 0; i < nr; i++) {
            const uint8_t *blk = row + i * rb + b * bb;
            __m256i dot;
            if (is_q8) dot = dot_s8s8(_mm256_loadu_si256((const __m256i *)(blk + 2)), xq);
            else dot = _mm256_add_epi32(dot_u8s8(nibbles(blk + 2), xq), k);      // (q - 8) . xq
            acc[i] = _mm256_fmadd_ps(_mm256_mul_ps(mk_bcast_block_scale(blk), xd), _mm256_cvtepi32_ps(dot), acc[i]);
        }
    }
    for (int i = 0; i < nr; i++) dots[i] = mk_hsum(acc[i]);
}

TI void gguf_rows(const mk_matrix *w, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1, int is_q8) {
    const int64_t rb = mk_row_bytes(w), nb = w->cols / MK_BLOCK;
    const uint8_t *base = (const uint8_t *)w->data;
    float dots[4];
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        gguf_group(base + r * rb, rb, 4, sv, nb, is_q8, dots);
        for (int i = 0; i < 4; i++) mk_store(out, r + i, dots[i]);
    }
    for (; r < r1; r++) {
        gguf_group(base + r * rb, rb, 1, sv, nb, is_q8, dots);
        mk_store(out, r, dots[0]);
    }
}

// ---- MLX affine 4- and 8-bit ------------------------------------------------------------------

/// The activations of blocks b and b+1 as the pair kernels read them: [evens of b | evens of b+1]
/// and [odds of b | odds of b+1], with the two blocks' scales in lanes 0-3 and 4-7.
TI void mlx4_pair_x(const mk_scratch_view *sv, int64_t b, __m256i *xe, __m256i *xo, __m256 *xd) {
    __m256i x0 = _mm256_loadu_si256((const __m256i *)(sv->xqp + b * MK_BLOCK));
    __m256i x1 = _mm256_loadu_si256((const __m256i *)(sv->xqp + (b + 1) * MK_BLOCK));
    *xe = _mm256_permute2x128_si256(x0, x1, 0x20);
    *xo = _mm256_permute2x128_si256(x0, x1, 0x31);
    *xd = _mm256_set_m128(_mm_set1_ps(sv->xd[b + 1]), _mm_set1_ps(sv->xd[b]));
}

/// The integer dot products of 64 packed 4-bit weights (32 bytes) with a pair's activations:
/// lanes 0-3 block b, lanes 4-7 block b+1, as floats.
TI __m256 mlx4_pair_dot(const uint8_t *p, __m256i xe, __m256i xo) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256i v = _mm256_loadu_si256((const __m256i *)p);
    __m256i lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
    __m256i sum = _mm256_add_epi16(_mm256_maddubs_epi16(lo, xe), _mm256_maddubs_epi16(hi, xo));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(sum, _mm256_set1_epi16(1)));
}

/// 4-bit MLX rows, two 32-blocks (64 weights, 32 packed bytes) at a time: one load gives the
/// low nibbles (even values) and the high nibbles (odd values) of both blocks, which meet the
/// activations rearranged the same way ([evens of block b | evens of b+1], [odds | odds]); the
/// 32-bit lanes 0-3 then hold block b's sum and lanes 4-7 block b+1's, each scaled by its own
/// activation scale. Groups of 32 take both group scales in one vector; longer groups (an even
/// number of blocks) sum their pairs before one scale.
TI void mlx4_pairs(const mk_matrix *w, int64_t r, int nr, const mk_scratch_view *sv, int stype, __m256 *acc) {
    const int64_t rb = mk_row_bytes(w), groups = w->cols / w->group_size, nb = w->cols / MK_BLOCK;
    const int bpg = w->group_size / MK_BLOCK;
    const uint8_t *row = (const uint8_t *)w->data + r * rb;
    const uint8_t *ahead = row + mk_prefetch_ahead(rb);     // rows to prefetch
    if (bpg == 1) {
        int64_t b = 0;
        // Eight groups' scales per row at a time, spread to each pair's [s_b x4 | s_b+1 x4] by
        // one permute (instead of two scalar conversions and an insert per pair and row).
        for (; b + 8 <= nb; b += 8) {
            __m256 sc8[4];
            for (int i = 0; i < nr; i++) sc8[i] = mk_load8_scales(w->scales, stype, (r + i) * groups + b);
            for (int p = 0; p < 8; p += 2) {
                __m256i xe, xo;
                __m256 xd;
                mlx4_pair_x(sv, b + p, &xe, &xo, &xd);
                if (p % 4 == 0) mk_prefetch_rows(ahead, rb, nr, (b + p) * 16);
                const __m256i spread = _mm256_setr_epi32(p, p, p, p, p + 1, p + 1, p + 1, p + 1);
                for (int i = 0; i < nr; i++) {
                    __m256 dot = mlx4_pair_dot(row + i * rb + (b + p) * 16, xe, xo);
                    __m256 sc = _mm256_permutevar8x32_ps(sc8[i], spread);
                    acc[i] = _mm256_fmadd_ps(dot, _mm256_mul_ps(xd, sc), acc[i]);
                }
            }
        }
        for (; b + 2 <= nb; b += 2) {
            __m256i xe, xo;
            __m256 xd;
            mlx4_pair_x(sv, b, &xe, &xo, &xd);
            if (b % 4 == 0) mk_prefetch_rows(ahead, rb, nr, b * 16);
            for (int i = 0; i < nr; i++) {
                __m256 dot = mlx4_pair_dot(row + i * rb + b * 16, xe, xo);
                const int64_t gi = (r + i) * groups + b;
                __m256 sc = _mm256_set_m128(_mm_set1_ps(mk_scale_value(w->scales, stype, gi + 1)), _mm_set1_ps(mk_scale_value(w->scales, stype, gi)));
                acc[i] = _mm256_fmadd_ps(dot, _mm256_mul_ps(xd, sc), acc[i]);
            }
        }
        for (; b < nb; b++) {      // an odd last block
            __m256i xq = _mm256_loadu_si256((const __m256i *)(sv->xqp + b * MK_BLOCK));
            __m256 xd = _mm256_set1_ps(sv->xd[b]);
            for (int i = 0; i < nr; i++) {
                __m256i dot = dot_u8s8(nibbles(row + i * rb + b * 16), xq);
                __m256 sc = mk_bcast_scale(w->scales, stype, (r + i) * groups + b);
                acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(xd, sc), acc[i]);
            }
        }
        return;
    }
    for (int64_t g = 0; g < groups; g++) {
        __m256 s[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
        for (int k = 0; k < bpg; k += 2) {
            const int64_t b = g * bpg + k;
            __m256i xe, xo;
            __m256 xd;
            mlx4_pair_x(sv, b, &xe, &xo, &xd);
            if (b % 4 == 0) mk_prefetch_rows(ahead, rb, nr, b * 16);
            for (int i = 0; i < nr; i++) {
                __m256 dot = mlx4_pair_dot(row + i * rb + b * 16, xe, xo);
                s[i] = _mm256_fmadd_ps(dot, xd, s[i]);
            }
        }
        for (int i = 0; i < nr; i++) acc[i] = _mm256_fmadd_ps(mk_bcast_scale(w->scales, stype, (r + i) * groups + g), s[i], acc[i]);
    }
}

TI void mlx_group(const mk_matrix *w, int64_t r, int nr, const mk_scratch_view *sv, int is4, int stype, float *dots) {
    const int64_t rb = mk_row_bytes(w), groups = w->cols / w->group_size;
    const int bpg = w->group_size / MK_BLOCK;
    const uint8_t *row = (const uint8_t *)w->data + r * rb;
    const uint8_t *ahead = row + mk_prefetch_ahead(rb);     // rows to prefetch
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    if (is4) {
        mlx4_pairs(w, r, nr, sv, stype, acc);
    } else {
        for (int64_t g = 0; g < groups; g++) {
            __m256 s[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
            for (int k = 0; k < bpg; k++) {
                const int64_t b = g * bpg + k;
                __m256 xd = _mm256_set1_ps(sv->xd[b]);
                // q in 0..255 is multiplied as q - 128; the lane corrections add 128 * xq back.
                __m256i xq = _mm256_loadu_si256((const __m256i *)(sv->xq + b * MK_BLOCK));
                __m256i kv = _mm256_loadu_si256((const __m256i *)((const int32_t *)sv->kvec + 8 * b));
                if (b % 2 == 0) mk_prefetch_rows(ahead, rb, nr, b * 32);
                for (int i = 0; i < nr; i++) {
                    __m256i q = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(row + i * rb + b * 32)), flip);
                    __m256i dot = _mm256_add_epi32(dot_s8s8(q, xq), kv);
                    s[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), xd, s[i]);
                }
            }
            for (int i = 0; i < nr; i++) {
                int64_t gi = (r + i) * groups + g;
                acc[i] = _mm256_fmadd_ps(mk_bcast_scale(w->scales, stype, gi), s[i], acc[i]);
            }
        }
    }
    for (int i = 0; i < nr; i++) dots[i] = mk_hsum(acc[i]) + mk_bias_dot(w->biases, stype, (r + i) * groups, sv->xsum, groups);
}

TI void mlx_rows(const mk_matrix *w, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1, int is4, int stype) {
    float dots[4];
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        mlx_group(w, r, 4, sv, is4, stype, dots);
        for (int i = 0; i < 4; i++) mk_store(out, r + i, dots[i]);
    }
    for (; r < r1; r++) {
        mlx_group(w, r, 1, sv, is4, stype, dots);
        mk_store(out, r, dots[0]);
    }
}

/// The activation quantizer (same bits as mk_quantize_scalar: the same max, scale and
/// multiplication, and vcvtps2dq rounds to nearest even as lrintf does).
T void mk_quantize_avx2(const float *x, int64_t nb, int8_t *xq, float *xd, int32_t *qsum) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
    for (int64_t b = 0; b < nb; b++) {
        const float *xb = x + b * MK_BLOCK;
        __m256 v0 = _mm256_loadu_ps(xb), v1 = _mm256_loadu_ps(xb + 8), v2 = _mm256_loadu_ps(xb + 16), v3 = _mm256_loadu_ps(xb + 24);
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v0, abs_mask), _mm256_and_ps(v1, abs_mask)),
                                 _mm256_max_ps(_mm256_and_ps(v2, abs_mask), _mm256_and_ps(v3, abs_mask)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        float d, id;
        mk_block_scale(_mm_cvtss_f32(m4), &d, &id);
        __m256 s = _mm256_set1_ps(id);
        __m256i i0 = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v0, s), lo), hi));
        __m256i i1 = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v1, s), lo), hi));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v2, s), lo), hi));
        __m256i i3 = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v3, s), lo), hi));
        __m256i sum = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
        // Pack 32 int32 to 32 int8; the packs work per 128-bit lane, so restore the order after.
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(xq + b * MK_BLOCK), p);
        xd[b] = d;
        qsum[b] = _mm_cvtsi128_si32(s4);
    }
}

T void mk_rows_i8_avx2(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1) {
    switch (w->format) {
    case MK_FORMAT_Q8_0: gguf_rows(w, sv, out, r0, r1, 1); break;
    case MK_FORMAT_Q4_0: gguf_rows(w, sv, out, r0, r1, 0); break;
    case MK_FORMAT_MLX4: case MK_FORMAT_MLX8: {
        int is4 = w->format == MK_FORMAT_MLX4;
        switch (w->scale_type) {
        case MK_SCALE_F16:
            if (is4) mlx_rows(w, sv, out, r0, r1, 1, MK_SCALE_F16); else mlx_rows(w, sv, out, r0, r1, 0, MK_SCALE_F16);
            break;
        case MK_SCALE_BF16:
            if (is4) mlx_rows(w, sv, out, r0, r1, 1, MK_SCALE_BF16); else mlx_rows(w, sv, out, r0, r1, 0, MK_SCALE_BF16);
            break;
        default:
            if (is4) mlx_rows(w, sv, out, r0, r1, 1, MK_SCALE_F32); else mlx_rows(w, sv, out, r0, r1, 0, MK_SCALE_F32);
            break;
        }
        break;
    }
    default:
        mk_rows_avx2(w, x, sv, out, r0, r1);      // formats without an int8 path stay exact
        break;
    }
}
#endif
