// Exact MLX 4-bit rows with AVX-512 BF16 (vdpbf16ps; Zen 4, Sapphire Rapids and later).
// Compiled for the baseline ISA with per-function target attributes; mk_matvec_avx512.c calls
// these only when mk_path_available(MK_PATH_AVX512) and the CPU has AVX512_BF16 (cpuid + xgetbv).
//
// Why bf16 and still exact: a 4-bit q (0..15) is exact in bf16, and the prepare step splits every
// x into three bf16 slices x = hi + mid + lo (hi = x rounded to bf16, mid = the rest rounded to
// bf16, lo = what is left; 8 + 8 + 8 significand bits cover f32's 24, so the sum is exactly x,
// except that vdpbf16ps reads bf16 subnormals as zero: |x| below ~1e-38 loses its last slices).
// Every product q * slice is exact in f32 (4 x 8 bits), and vdpbf16ps adds them in f32 with
// round-to-nearest: the result is the exact product sum up to f32 rounding of the sums, as the
// FMA kernels, in another order. One vdpbf16ps does 32 multiply-adds; the nibbles become bf16
// with one vpermw (a 32-entry table of bf16(i & 15), so the low nibble needs no mask), 32 at a
// time, instead of a mask + vcvtdq2ps per 8 weights.
//
// Per row, as the other MLX kernels: sum_g scale_g * sum(q x) + bias_g * sum(x) (the bias term from
// the group sums of x, mk_bias_dot).
#if defined(__x86_64__)
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "mk_avx2.h"

#define TB __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#define TBI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16"), always_inline)) static inline

/// f32 -> bf16, round to nearest even (finite values that would round to infinity truncate).
static inline uint16_t bf16_rne(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7F800000u) == 0x7F800000u) return (uint16_t)((u >> 16) | ((u & 0xFFFF) ? 0x40 : 0));  // inf / NaN
    uint32_t r = u + 0x7FFFu + ((u >> 16) & 1u);
    if ((r & 0x7F800000u) == 0x7F800000u) return (uint16_t)(u >> 16);
    return (uint16_t)(r >> 16);
}

/// Splits x into three bf16 slices laid out as the MLX 4-bit kernel reads them. Per 128 columns
/// (64 packed bytes = 32 16-bit words, word k holding elements 4k..4k+3 in its four nibbles),
/// 12 runs of 32 words: slice s (hi, mid, lo) of nibble j (0..3) is run 4s + j, holding the
/// elements 4k + j. Columns past `cols` in the last 128 are zero.
void mk_prepare_bf16_slices(const float *x, int64_t cols, uint16_t *xs) {
    for (int64_t c0 = 0; c0 < cols; c0 += 128) {
        uint16_t *out = xs + c0 / 128 * 384;
        for (int j = 0; j < 4; j++) {
            for (int64_t k = 0; k < 32; k++) {
                int64_t c = c0 + 4 * k + j;
                float v = c < cols ? x[c] : 0.0f;
                uint16_t h = bf16_rne(v);
                float r1 = (h & 0x7F80u) == 0x7F80u ? 0.0f : v - mk_bfloat_to_float(h);
                uint16_t m = bf16_rne(r1);
                float r2 = r1 - mk_bfloat_to_float(m);
                out[j * 32 + k] = h;
                out[128 + j * 32 + k] = m;
                out[256 + j * 32 + k] = bf16_rne(r2);
            }
        }
    }
}

/// MLX scales g..g+n-1 (n <= 16; the other lanes read as 0), as floats.
TBI __m512 load_scales16(const void *p, int type, int64_t g, int64_t n) {
    __mmask16 m = (__mmask16)((1u << n) - 1u);
    switch (type) {
    case MK_SCALE_F16: return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)p + g));
    case MK_SCALE_BF16: return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t *)p + g)), 16));
    default: return _mm512_maskz_loadu_ps(m, (const float *)p + g);
    }
}

TBI float hsum512(__m512 v) {
    __m256 s = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    return mk_hsum(s);
}

TBI __m512bh as_bh(__m512i v) { return (__m512bh)v; }

/// `nr` rows (1..4) from row r. `xs` the slices of x (mk_prepare_bf16_slices).
TBI void mlx4_bf16_group(const mk_matrix *w, int64_t r, int nr, const uint16_t *xs, const float *xsum, int stype, int slices, float *dots) {
    const int64_t rb = w->cols / 2, groups = w->cols / w->group_size, chunks = (w->cols + 127) / 128;
    const int gs = w->group_size, gpc = 128 / gs;     // groups per 128 columns
    const uint8_t *row = (const uint8_t *)w->data + r * rb;
    // bf16 of i & 15 for i = 0..31: vpermw reads the low 5 bits of each word, so the word
    // shifted right by 0, 4, 8 or 12 looks up its nibble 0, 1, 2 or 3 with no mask.
    const __m512i table = _mm512_set_epi16(
        0x4170, 0x4160, 0x4150, 0x4140, 0x4130, 0x4120, 0x4110, 0x4100, 0x40E0, 0x40C0, 0x40A0, 0x4080, 0x4040, 0x4000, 0x3F80, 0,
        0x4170, 0x4160, 0x4150, 0x4140, 0x4130, 0x4120, 0x4110, 0x4100, 0x40E0, 0x40C0, 0x40A0, 0x4080, 0x4040, 0x4000, 0x3F80, 0);
    // vdpbf16ps lane l sums words 2l and 2l+1 of the four nibble vectors: columns 8l..8l+7 of the
    // chunk, so group (8l) / gs within it.
    const __m512i lane_group = _mm512_srli_epi32(_mm512_setr_epi32(0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120),
                                                 gs == 32 ? 5 : gs == 64 ? 6 : 7);
    __m512 acc[4], sc[4];
    for (int i = 0; i < 4; i++) acc[i] = sc[i] = _mm512_setzero_ps();
    int64_t g_base = -1000;
    for (int64_t c = 0; c < chunks; c++) {
        const int64_t g0 = c * gpc;
        if (g0 + gpc > g_base + 16) {
            g_base = g0;
            for (int i = 0; i < nr; i++) sc[i] = load_scales16(w->scales, stype, (r + i) * groups + g0, groups - g0 < 16 ? groups - g0 : 16);
        }
        const __m512i idx = _mm512_add_epi32(_mm512_set1_epi32((int)(g0 - g_base)), lane_group);
        const __m512i *xc = (const __m512i *)(xs + c * 384);
        const __m512bh h0 = as_bh(_mm512_loadu_si512(xc)), h1 = as_bh(_mm512_loadu_si512(xc + 1));
        const __m512bh h2 = as_bh(_mm512_loadu_si512(xc + 2)), h3 = as_bh(_mm512_loadu_si512(xc + 3));
        const __m512bh m0 = as_bh(_mm512_loadu_si512(xc + 4)), m1 = as_bh(_mm512_loadu_si512(xc + 5));
        const __m512bh m2 = as_bh(_mm512_loadu_si512(xc + 6)), m3 = as_bh(_mm512_loadu_si512(xc + 7));
        const __m512bh l0 = as_bh(_mm512_loadu_si512(xc + 8)), l1 = as_bh(_mm512_loadu_si512(xc + 9));
        const __m512bh l2 = as_bh(_mm512_loadu_si512(xc + 10)), l3 = as_bh(_mm512_loadu_si512(xc + 11));
        const int64_t left = rb - c * 64;                       // bytes of this chunk in the row
        const __mmask64 m = left >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << left) - 1);
        mk_prefetch_next_group(row, rb, nr, c * 64);
        for (int i = 0; i < nr; i++) {
            __m512i v = _mm512_maskz_loadu_epi8(m, row + i * rb + c * 64);
            __m512bh n0 = as_bh(_mm512_permutexvar_epi16(v, table));
            __m512bh n1 = as_bh(_mm512_permutexvar_epi16(_mm512_srli_epi16(v, 4), table));
            __m512bh n2 = as_bh(_mm512_permutexvar_epi16(_mm512_srli_epi16(v, 8), table));
            __m512bh n3 = as_bh(_mm512_permutexvar_epi16(_mm512_srli_epi16(v, 12), table));
            __m512 p = _mm512_dpbf16_ps(_mm512_setzero_ps(), n0, h0);
            __m512 q = _mm512_dpbf16_ps(_mm512_setzero_ps(), n1, h1);
            p = _mm512_dpbf16_ps(p, n2, h2);
            q = _mm512_dpbf16_ps(q, n3, h3);
            p = _mm512_dpbf16_ps(p, n0, m0);
            q = _mm512_dpbf16_ps(q, n1, m1);
            p = _mm512_dpbf16_ps(p, n2, m2);
            q = _mm512_dpbf16_ps(q, n3, m3);
            if (slices == 3) {
                p = _mm512_dpbf16_ps(p, n0, l0);
                q = _mm512_dpbf16_ps(q, n1, l1);
                p = _mm512_dpbf16_ps(p, n2, l2);
                q = _mm512_dpbf16_ps(q, n3, l3);
            }
            acc[i] = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx, sc[i]), _mm512_add_ps(p, q), acc[i]);
        }
    }
    for (int i = 0; i < nr; i++) dots[i] = hsum512(acc[i]) + mk_bias_dot(w->biases, stype, (r + i) * groups, xsum, groups);
}

TBI void mlx4_bf16_rows(const mk_matrix *w, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1, int stype, int slices) {
    float dots[4];
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        mlx4_bf16_group(w, r, 4, sv->xbf, sv->xsum, stype, slices, dots);
        for (int i = 0; i < 4; i++) mk_store(out, r + i, dots[i]);
    }
    for (; r < r1; r++) {
        mlx4_bf16_group(w, r, 1, sv->xbf, sv->xsum, stype, slices, dots);
        mk_store(out, r, dots[0]);
    }
}

/// MOSHI_BF16_SLICES=2 (an experiment, not exact: x to about 16 significant bits) drops the third
/// slice; anything else keeps all three. Read once.
static int slices_setting = 3;
static pthread_once_t slices_once = PTHREAD_ONCE_INIT;
static void read_slices(void) {
    const char *e = getenv("MOSHI_BF16_SLICES");
    slices_setting = e && !strcmp(e, "2") ? 2 : 3;
}

/// Exact MLX 4-bit rows (the caller checks the format and the CPU's BF16).
TB void mk_rows_mlx4_bf16(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1) {
    (void)x;
    pthread_once(&slices_once, read_slices);
    const int three = slices_setting == 3;
    switch (w->scale_type) {
    case MK_SCALE_F16: if (three) mlx4_bf16_rows(w, sv, out, r0, r1, MK_SCALE_F16, 3); else mlx4_bf16_rows(w, sv, out, r0, r1, MK_SCALE_F16, 2); break;
    case MK_SCALE_BF16: if (three) mlx4_bf16_rows(w, sv, out, r0, r1, MK_SCALE_BF16, 3); else mlx4_bf16_rows(w, sv, out, r0, r1, MK_SCALE_BF16, 2); break;
    default: if (three) mlx4_bf16_rows(w, sv, out, r0, r1, MK_SCALE_F32, 3); else mlx4_bf16_rows(w, sv, out, r0, r1, MK_SCALE_F32, 2); break;
    }
}
#endif
