// Exact 4-bit rows (MLX affine 4-bit and GGUF Q4_0) with AVX-512 VNNI integer dot products, x split
// into three int8 limbs.
// Compiled for the baseline ISA with per-function target attributes; mk_matvec.c calls these only
// when the AVX-512 path runs (mk_path_available(MK_PATH_AVX512): F/BW/VL + VNNI).
//
// Why integers and still exact to f32's precision: per 8 columns of x (one 32-bit lane of the
// kernel), d = max|x| / 127 and every x becomes the integer N = round(x * 2^16 / d) (|N| <= 127 *
// 2^16, 23 bits + sign), written as three signed bytes N = a1 * 2^16 + a2 * 2^8 + a3. So x =
// d / 2^16 * N up to d / 2^17 = max|x| * 6.0e-8 (f32 holds max|x| to 2^-24 = 6.0e-8). A 4-bit q
// times a byte is exact in `vpdpbusd` (64 unsigned-by-signed byte products into 16 int32 lanes, 4
// per lane), and a lane's sum over its 8 columns of q * N = (S1 << 16) + (S2 << 8) + S3 is an exact
// integer below 2^31 (8 * 15 * 127 * 2^16 < 1.0e9), accumulated as ((S1 << 8) + S2) << 8 + S3: each
// limb's two `vpdpbusd` start from the previous sum shifted. Converting it to f32 rounds once
// (2^-24); the group scale / 2^16 and d multiply it, an FMA adds it to the row's 16-lane f32 sum.
// Per 64 bytes of a row (128 weights): the nibbles split with one shift and two masks, 6
// `vpdpbusd` (3 limbs x low and high nibbles), 2 shifts, one conversion, one multiply, one FMA; the
// bf16 kernel this replaced needed 12 `vdpbf16ps` for the same bytes (Docs/PERFORMANCE.md).
//
// What differs from per-element f32: x is held to 2^-24 of the largest |x| among its 8 columns,
// not of itself, so a tiny x next to a huge one loses its low bits (as it would in any f32 sum
// that also holds the huge one's product). Non-finite x make their lane NaN.
//
// Q4_0 (below) uses the same limbs with its own column order, and the -8 of its codes as exact integer
// lane sums. With int8 activations both kernels run with one limb, the quantized x itself
// (mk_prepare_int8_limb1): 2 `vpdpbusd` per 128 weights. Measured on Zen 4, one core, in cache: MLX 4-bit g32 12.2 GB/s (bf16 slices) -> 27 GB/s;
// Q4_0 11.0 (a vpermps table of d (q - 8)) -> 15.7 GB/s (Docs/PERFORMANCE.md).
//
// Per MLX row, as the other MLX kernels: sum_g scale_g * sum(q x) + bias_g * sum(x), the bias term from
// the exact f32 group sums of x: whenever a row's 16 scales are loaded, its 16 biases times those
// groups' sums are added to the same 16-lane sum (all lanes are summed at the end).
#if defined(__x86_64__)
#include <math.h>
#include "mk_avx2.h"

#define TL __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define TLI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni"), always_inline)) static inline

// The layout of x's limbs, MK_LIMB_CHUNK_BYTES = 512 per 128 columns (one 64-byte piece of a packed
// row, whose bytes hold two nibbles each): limb k of the low-nibble columns (64 bytes), limb k of the
// high-nibble columns (64 bytes), for k = 1, 2, 3; then 16 floats, lane l's d / 2^16 (MLX: d; see
// the kernels); then 16 int32, lane l's -8 * sum of its N (Q4_0's -8). Lane l (bytes 4l..4l+3 of
// a piece) covers 8 columns: MLX 4-bit packs columns 2p (low nibble) and 2p + 1 (high) in byte p,
// so lane l is columns 8l..8l+7; Q4_0 packs a 32-block's columns j (low) and 16 + j (high) in its
// byte j, four 16-byte blocks to a piece, so lane l = 4b + j is columns 32b + 4j..+3 and
// 32b + 16 + 4j..+3.

/// One lane: 8 floats ordered [4 low-nibble columns, 4 high-nibble columns] -> d = max|x| / 127,
/// N = round(x * 2^16 / d) in doubles (vcvtpd2dq), the balanced base-256 digits a3 = the low byte
/// sign-extended, a2 the next, a1 the rest, stored at `lane` (chunk + 4l) in the layout above.
/// Returns d (NaN if any x is not finite) and the sum of the 8 N.
TLI float limbs_lane(__m256 v8, int8_t *lane, int32_t *nsum) {
    const __m512d v = _mm512_cvtps_pd(v8);
    const float m = (float)_mm512_reduce_max_pd(_mm512_abs_pd(v));
    const int finite = !isnan(_mm512_reduce_add_pd(_mm512_mul_pd(v, _mm512_setzero_pd())));
    const float d = m / 127.0f;
    const double inv = finite && d > 0.0f ? 65536.0 / (double)d : 0.0;
    const __m256i n = _mm512_cvtpd_epi32(_mm512_mul_pd(v, _mm512_set1_pd(inv)));
    const __m256i a3 = _mm256_srai_epi32(_mm256_slli_epi32(n, 24), 24);
    const __m256i n1 = _mm256_srai_epi32(_mm256_sub_epi32(n, a3), 8);
    const __m256i a2 = _mm256_srai_epi32(_mm256_slli_epi32(n1, 24), 24);
    const __m256i a1 = _mm256_srai_epi32(_mm256_sub_epi32(n1, a2), 8);
    const __m128i b12 = _mm_unpacklo_epi64(_mm256_cvtepi32_epi8(a1), _mm256_cvtepi32_epi8(a2));
    const __m128i b3 = _mm256_cvtepi32_epi8(a3);
    _mm_storeu_si32(lane, b12);
    _mm_storeu_si32(lane + 64, _mm_srli_si128(b12, 4));
    _mm_storeu_si32(lane + 128, _mm_srli_si128(b12, 8));
    _mm_storeu_si32(lane + 192, _mm_srli_si128(b12, 12));
    _mm_storeu_si32(lane + 256, b3);
    _mm_storeu_si32(lane + 320, _mm_srli_si128(b3, 4));
    const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(n), _mm256_extracti128_si256(n, 1));
    const __m128i s2 = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    *nsum = _mm_cvtsi128_si32(_mm_add_epi32(s2, _mm_shuffle_epi32(s2, 0xB1)));
    return finite ? d : NAN;
}

/// x split into limbs for MLX 4-bit rows; columns past `cols` in the last 128 are zero.
TL void mk_prepare_int8_limbs(const float *x, int64_t cols, int8_t *out) {
    const __m256i evens_odds = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    for (int64_t c0 = 0; c0 < cols; c0 += 128) {
        int8_t *chunk = out + c0 / 128 * MK_LIMB_CHUNK_BYTES;
        float *dv = (float *)(chunk + 384);
        for (int l = 0; l < 16; l++) {
            const int64_t c = c0 + 8 * l, left = cols - c;
            const __mmask8 mask = left >= 8 ? 0xFF : left <= 0 ? 0 : (__mmask8)((1u << left) - 1u);
            const __m256 v8 = _mm256_permutevar8x32_ps(_mm256_maskz_loadu_ps(mask, x + (left > 0 ? c : 0)), evens_odds);
            int32_t nsum;
            dv[l] = limbs_lane(v8, chunk + 4 * l, &nsum);
        }
    }
}

/// x split into limbs for Q4_0 rows (cols a multiple of 32); blocks past the end of the last 128
/// columns are zero. d is stored times 2^-16 (the Q4_0 kernel has no per-group step to fold it into).
TL void mk_prepare_q4_0_limbs(const float *x, int64_t cols, int8_t *out) {
    for (int64_t c0 = 0; c0 < cols; c0 += 128) {
        int8_t *chunk = out + c0 / 128 * MK_LIMB_CHUNK_BYTES;
        float *dv = (float *)(chunk + 384);
        int32_t *cv = (int32_t *)(chunk + 448);
        for (int l = 0; l < 16; l++) {
            const int64_t c = c0 + 32 * (l / 4) + 4 * (l % 4);
            const __m256 v8 = c < cols ? _mm256_set_m128(_mm_loadu_ps(x + c + 16), _mm_loadu_ps(x + c)) : _mm256_setzero_ps();
            int32_t nsum;
            dv[l] = limbs_lane(v8, chunk + 4 * l, &nsum) * 0x1p-16f;
            cv[l] = -8 * nsum;
        }
    }
}

/// The int8-activation x (xq and xd per 32-block, from the path's quantizer) in the layout above
/// as the one limb the int8 kernels read: lane l's bytes in its format's column order, its d the
/// xd of its block (a lane's 8 columns lie in one 32-block in both orders), and for Q4_0 its -8 *
/// sum of xq. Columns past `cols` in the last 128 are zero.
TL void mk_prepare_int8_limb1(const int8_t *xq, const float *xd, int64_t cols, int q4_0_order, int8_t *out) {
    for (int64_t c0 = 0; c0 < cols; c0 += 128) {
        int8_t *chunk = out + c0 / 128 * MK_LIMB_CHUNK_BYTES;
        float *dv = (float *)(chunk + 384);
        int32_t *cv = (int32_t *)(chunk + 448);
        for (int l = 0; l < 16; l++) {
            // the lane's first column of its low-nibble half and of its high-nibble half, and the step
            const int64_t first = q4_0_order ? c0 + 32 * (l / 4) + 4 * (l % 4) : c0 + 8 * l;
            const int64_t second = q4_0_order ? first + 16 : first + 1, step = q4_0_order ? 1 : 2;
            int32_t sum = 0;
            for (int j = 0; j < 4; j++) {
                const int64_t a = first + step * j, b = second + step * j;
                const int8_t qa = a < cols ? xq[a] : 0, qb = b < cols ? xq[b] : 0;
                chunk[4 * l + j] = qa;
                chunk[64 + 4 * l + j] = qb;
                sum += qa + qb;
            }
            dv[l] = first < cols ? xd[first / MK_BLOCK] : 0.0f;
            cv[l] = -8 * sum;
        }
    }
}

/// MLX scales g..g+n-1 (n <= 16; the other lanes read as 0), as floats.
TLI __m512 limbs_scales16(const void *p, int type, int64_t g, int64_t n) {
    __mmask16 m = (__mmask16)((1u << n) - 1u);
    switch (type) {
    case MK_SCALE_F16: return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)p + g));
    case MK_SCALE_BF16: return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t *)p + g)), 16));
    default: return _mm512_maskz_loadu_ps(m, (const float *)p + g);
    }
}

TLI float limbs_hsum512(__m512 v) {
    __m256 s = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    return mk_hsum(s);
}

/// One 128-column piece of x's limbs: limb k of the low- and of the high-nibble columns (limbs 2
/// and 3 are read only with three limbs).
typedef struct { __m512i lo[3], hi[3]; } limb_piece;

TLI limb_piece limbs_load(const int8_t *xc, int limbs) {
    limb_piece p;
    for (int k = 0; k < 3; k++) {
        p.lo[k] = k < limbs ? _mm512_loadu_si512(xc + 128 * k) : _mm512_setzero_si512();
        p.hi[k] = k < limbs ? _mm512_loadu_si512(xc + 128 * k + 64) : _mm512_setzero_si512();
    }
    return p;
}

/// 64 bytes of packed nibbles times a piece of x's limbs: per 32-bit lane the exact integer sum of
/// q N over its 8 columns (three limbs, as ((S1 << 8) + S2) << 8 + S3) or of q xq (one limb).
TLI __m512i limbs_lane_sums(__m512i v, const limb_piece *x, int limbs) {
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m512i lo = _mm512_and_si512(v, low4), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
    __m512i t = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, x->lo[0]), hi, x->hi[0]);
    for (int k = 1; k < limbs; k++)
        t = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_slli_epi32(t, 8), lo, x->lo[k]), hi, x->hi[k]);
    return t;
}

/// `nr` rows (1..4) from row r.
TLI void mlx4_limbs_group(const mk_matrix *w, int64_t r, int nr, const int8_t *xl, const float *xsum, int stype, int limbs, float *dots) {
    const int64_t rb = w->cols / 2, groups = w->cols / w->group_size, chunks = (w->cols + 127) / 128;
    const int gs = w->group_size, gpc = 128 / gs;
    const uint8_t *row = (const uint8_t *)w->data + r * rb;
    const uint8_t *ahead = row + mk_prefetch_ahead(rb);     // rows to prefetch
    // lane l covers columns 8l..8l+7 of the chunk: group (8l) / gs within it
    const __m512i lane_group = _mm512_srli_epi32(_mm512_setr_epi32(0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120),
                                                 gs == 32 ? 5 : gs == 64 ? 6 : 7);
    __m512 acc[4], sc[4];
    for (int i = 0; i < 4; i++) acc[i] = sc[i] = _mm512_setzero_ps();
    int64_t g_base = -1000;
    for (int64_t c = 0; c < chunks; c++) {
        const int64_t g0 = c * gpc;
        if (g0 + gpc > g_base + 16) {
            g_base = g0;
            // times 2^-16 (exact), the scale of N
            const int64_t n = groups - g0 < 16 ? groups - g0 : 16;
            const __m512 xs = _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), xsum + g0);
            for (int i = 0; i < nr; i++) {
                sc[i] = _mm512_mul_ps(limbs_scales16(w->scales, stype, (r + i) * groups + g0, n), _mm512_set1_ps(limbs == 3 ? 0x1p-16f : 1.0f));
                acc[i] = _mm512_fmadd_ps(limbs_scales16(w->biases, stype, (r + i) * groups + g0, n), xs, acc[i]);
            }
        }
        const __m512i idx = _mm512_add_epi32(_mm512_set1_epi32((int)(g0 - g_base)), lane_group);
        const int8_t *xc = xl + c * MK_LIMB_CHUNK_BYTES;
        const limb_piece xp = limbs_load(xc, limbs);
        const __m512 dv = _mm512_loadu_ps((const float *)(xc + 384));
        const int64_t left = rb - c * 64;
        const int full = left >= 64;      // a masked byte load costs more than a plain one on Zen 4
        const __mmask64 m = full ? ~(__mmask64)0 : (((__mmask64)1 << left) - 1);
        mk_prefetch_rows(ahead, rb, nr, c * 64);
        for (int i = 0; i < nr; i++) {
            const __m512i v = full ? _mm512_loadu_si512(row + i * rb + c * 64) : _mm512_maskz_loadu_epi8(m, row + i * rb + c * 64);
            const __m512i t = limbs_lane_sums(v, &xp, limbs);
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), _mm512_mul_ps(_mm512_permutexvar_ps(idx, sc[i]), dv), acc[i]);
        }
    }
    for (int i = 0; i < nr; i++) dots[i] = limbs_hsum512(acc[i]);
}

TLI void mlx4_limbs_rows(const mk_matrix *w, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1, int stype, int limbs) {
    const int8_t *xl = sv->xlimbs;
    float dots[4];
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        mlx4_limbs_group(w, r, 4, xl, sv->xsum, stype, limbs, dots);
        for (int i = 0; i < 4; i++) mk_store(out, r + i, dots[i]);
    }
    for (; r < r1; r++) {
        mlx4_limbs_group(w, r, 1, xl, sv->xsum, stype, limbs, dots);
        mk_store(out, r, dots[0]);
    }
}

/// The rows with the scale type as a constant.
TLI void mlx4_limbs_rows_any_scale(const mk_matrix *w, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1, int limbs) {
    switch (w->scale_type) {
    case MK_SCALE_F16: mlx4_limbs_rows(w, sv, out, r0, r1, MK_SCALE_F16, limbs); break;
    case MK_SCALE_BF16: mlx4_limbs_rows(w, sv, out, r0, r1, MK_SCALE_BF16, limbs); break;
    default: mlx4_limbs_rows(w, sv, out, r0, r1, MK_SCALE_F32, limbs); break;
    }
}

/// Exact MLX 4-bit rows (the caller checks the format and the AVX-512 path).
TL void mk_rows_mlx4_limbs(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1) {
    (void)x;
    mlx4_limbs_rows_any_scale(w, sv, out, r0, r1, 3);
}

/// MLX 4-bit rows with int8 activations: one limb, the quantized x (mk_prepare_int8_limb1).
TL void mk_rows_i8_mlx4_limbs(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1) {
    (void)x;
    mlx4_limbs_rows_any_scale(w, sv, out, r0, r1, 1);
}
#endif

#if defined(__x86_64__)
// ---- Q4_0 -------------------------------------------------------------------------------------
//
// Four 18-byte blocks (f16 d, then 16 bytes: byte j holds q_j low and q_{16+j} high) make one
// 128-column piece: their 16 quant bytes gathered into a 64-byte vector, their d spread over the
// lanes with one vpermw. Per lane, with x's limbs: t = sum q N - 8 sum N (an exact integer: the -8
// of every q from the prepared lane sums), then y += t * d_block * d_lane / 2^16.

/// `nr` rows (1..4) from `row` (row pitch rb), `nb` blocks.
TLI void q4_0_limbs_group(const uint8_t *row, int64_t rb, int nr, int64_t nb, const int8_t *xl, int limbs, float *dots) {
    const uint8_t *ahead = row + mk_prefetch_ahead(rb);     // rows to prefetch
    // word l (< 16) of a piece's first 64 bytes: the d of block l / 4 (byte offset 18 (l / 4))
    const __m512i d_words = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                             27, 27, 27, 27, 18, 18, 18, 18, 9, 9, 9, 9, 0, 0, 0, 0);
    __m512 acc[4];
    for (int i = 0; i < 4; i++) acc[i] = _mm512_setzero_ps();
    const int64_t chunks = (nb + 3) / 4;
    for (int64_t c = 0; c < chunks; c++) {
        const int8_t *xc = xl + c * MK_LIMB_CHUNK_BYTES;
        const limb_piece xp = limbs_load(xc, limbs);
        const __m512 dv = _mm512_loadu_ps((const float *)(xc + 384));
        const __m512i cv = _mm512_loadu_si512(xc + 448);
        const int64_t at = c * 4 * MK_Q4_0_BYTES, blocks = nb - 4 * c < 4 ? nb - 4 * c : 4;
        mk_prefetch_rows(ahead, rb, nr, at);
        mk_prefetch_rows(ahead, rb, nr, at + 64);
        for (int i = 0; i < nr; i++) {
            const uint8_t *p = row + i * rb + at;
            uint8_t tail[4 * MK_Q4_0_BYTES];
            if (blocks < 4) {                       // the row's last 1-3 blocks: zeros after them
                memset(tail, 0, sizeof tail);
                memcpy(tail, p, (size_t)(blocks * MK_Q4_0_BYTES));
                p = tail;
            }
            __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(p + 2)));
            v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + 2 + MK_Q4_0_BYTES)), 1);
            v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + 2 + 2 * MK_Q4_0_BYTES)), 2);
            v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + 2 + 3 * MK_Q4_0_BYTES)), 3);
            const __m512 dw = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(d_words, _mm512_loadu_si512(p))));
            const __m512i t = limbs_lane_sums(v, &xp, limbs);
            acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(t, cv)), _mm512_mul_ps(dw, dv), acc[i]);
        }
    }
    for (int i = 0; i < nr; i++) dots[i] = limbs_hsum512(acc[i]);
}

/// Exact Q4_0 rows (the caller checks the format and the AVX-512 path).
TLI void q4_0_limbs_rows(const mk_matrix *w, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1, int limbs) {
    const int64_t rb = mk_row_bytes(w), nb = w->cols / MK_BLOCK;
    const uint8_t *base = (const uint8_t *)w->data;
    float dots[4];
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        q4_0_limbs_group(base + r * rb, rb, 4, nb, sv->xlimbs, limbs, dots);
        for (int i = 0; i < 4; i++) mk_store(out, r + i, dots[i]);
    }
    for (; r < r1; r++) {
        q4_0_limbs_group(base + r * rb, rb, 1, nb, sv->xlimbs, limbs, dots);
        mk_store(out, r, dots[0]);
    }
}
/// Exact Q4_0 rows (the caller checks the format and the AVX-512 path).
TL void mk_rows_q4_0_limbs(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1) {
    (void)x;
    q4_0_limbs_rows(w, sv, out, r0, r1, 3);
}

/// Q4_0 rows with int8 activations: one limb, the quantized x (mk_prepare_int8_limb1).
TL void mk_rows_i8_q4_0_limbs(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1) {
    (void)x;
    q4_0_limbs_rows(w, sv, out, r0, r1, 1);
}
#endif
