// Matrix-vector rows with AVX-512 F/BW/VL and VNNI (x86-64: Ice Lake and later, Zen 4 and later).
// Compiled for the baseline ISA with per-function target attributes; mk_matvec.c calls these
// only when mk_path_available(MK_PATH_AVX512) (cpuid and the OS's zmm state, via xgetbv).
//
// Exact products: Q4_0 and MLX 4-bit multiply their nibbles with three int8 limbs of x (vpdpbusd,
// mk_matvec_limbs_avx512.c); f32, bf16, f16, Q8_0 and MLX 8-bit run the AVX2 kernels (512-bit
// versions of the dense rows were slower from memory on Zen 4, bf16 16 vs 20 GB/s on one core).
// int8-activation products: the AVX2 kernels' structure (four rows share each block of x) with
// vpdpbusd, which multiplies unsigned by signed bytes and sums four products into a 32-bit lane
// without saturation, in one instruction instead of vpmaddubsw + vpmaddwd (+ vpabsb/vpsignb):
//   Q8_0   signed q is fed as q + 128 (xor 0x80); the lane corrections (-128 * xq) start the sum.
//   MLX8   q is unsigned already: no correction at all.
// Q4_0 and MLX4 int8 run the 4-bit limb kernels with one limb, xq (mk_matvec_limbs_avx512.c: four
// Q4_0 blocks or 128 MLX columns per 64-byte vector; one core, in cache, Q4_0 24 -> 29 GB/s and
// MLX4 g32 31 -> 44 GB/s against the 256-bit kernels they replaced).
// Integer sums are exact, so results equal mk_rows_i8_scalar's up to the order of float sums.
#if defined(__x86_64__)
#include "mk_avx2.h"

#define T __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#define TI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"), always_inline)) static inline

TI float hsum512(__m512 v) {
    __m256 s = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    return mk_hsum(s);
}

// ---- exact products ----------------------------------------------------------------------------

/// Exact rows: the 4-bit formats on int8 limbs of x (mk_matvec_limbs_avx512.c), the others on the
/// AVX2 kernels (512-bit dense rows were measured slower from memory on Zen 4).
T void mk_rows_avx512(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1) {
    switch (w->format) {
    case MK_FORMAT_Q4_0: mk_rows_q4_0_limbs(w, x, sv, out, r0, r1); break;
    case MK_FORMAT_MLX4: mk_rows_mlx4_limbs(w, x, sv, out, r0, r1); break;
    default: mk_rows_avx2(w, x, sv, out, r0, r1); break;      // f32, bf16, f16, Q8_0, MLX 8-bit
    }
}

// ---- int8 activations: GGUF Q8_0 ----------------------------------------------------------------

TI void q8_0_group(const uint8_t *row, int64_t rb, int nr, const mk_scratch_view *sv, int64_t nb, float *dots) {
    const uint8_t *ahead = row + mk_prefetch_ahead(rb);     // rows to prefetch
    __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    for (int64_t b = 0; b < nb; b++) {
        __m256i xq = _mm256_loadu_si256((const __m256i *)(sv->xq + b * MK_BLOCK));
        __m256 xd = _mm256_set1_ps(sv->xd[b]);
        __m256i k = _mm256_loadu_si256((const __m256i *)((const int32_t *)sv->kvec + 8 * b));
        mk_prefetch_rows(ahead, rb, nr, b * MK_Q8_0_BYTES);
        for (int i = 0; i < nr; i++) {
            const uint8_t *blk = row + i * rb + b * MK_Q8_0_BYTES;
            __m256i q = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(blk + 2)), flip);
            __m256i dot = _mm256_dpbusd_epi32(k, q, xq);
            acc[i] = _mm256_fmadd_ps(_mm256_mul_ps(mk_bcast_block_scale(blk), xd), _mm256_cvtepi32_ps(dot), acc[i]);
        }
    }
    for (int i = 0; i < nr; i++) dots[i] = mk_hsum(acc[i]);
}

TI void q8_0_rows(const mk_matrix *w, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1) {
    const int64_t rb = mk_row_bytes(w), nb = w->cols / MK_BLOCK;
    const uint8_t *base = (const uint8_t *)w->data;
    float dots[4];
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        q8_0_group(base + r * rb, rb, 4, sv, nb, dots);
        for (int i = 0; i < 4; i++) mk_store(out, r + i, dots[i]);
    }
    for (; r < r1; r++) {
        q8_0_group(base + r * rb, rb, 1, sv, nb, dots);
        mk_store(out, r, dots[0]);
    }
}

// ---- int8 activations: MLX affine 8-bit -------------------------------------------------

/// MLX 8-bit: q is unsigned, so vpdpbusd takes it as it is (no correction).
TI void mlx8_group(const mk_matrix *w, int64_t r, int nr, const mk_scratch_view *sv, int stype, float *dots) {
    const int64_t rb = mk_row_bytes(w), groups = w->cols / w->group_size;
    const int bpg = w->group_size / MK_BLOCK;
    const uint8_t *row = (const uint8_t *)w->data + r * rb;
    const uint8_t *ahead = row + mk_prefetch_ahead(rb);     // rows to prefetch
    __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    for (int64_t g = 0; g < groups; g++) {
        __m256 s[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
        for (int k = 0; k < bpg; k++) {
            const int64_t b = g * bpg + k;
            __m256 xd = _mm256_set1_ps(sv->xd[b]);
            __m256i xq = _mm256_loadu_si256((const __m256i *)(sv->xq + b * MK_BLOCK));
            if (b % 2 == 0) mk_prefetch_rows(ahead, rb, nr, b * 32);
            for (int i = 0; i < nr; i++) {
                __m256i q = _mm256_loadu_si256((const __m256i *)(row + i * rb + b * 32));
                __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q, xq);
                s[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), xd, s[i]);
            }
        }
        for (int i = 0; i < nr; i++) acc[i] = _mm256_fmadd_ps(mk_bcast_scale(w->scales, stype, (r + i) * groups + g), s[i], acc[i]);
    }
    for (int i = 0; i < nr; i++) dots[i] = mk_hsum(acc[i]) + mk_bias_dot(w->biases, stype, (r + i) * groups, sv->xsum, groups);
}

TI void mlx8_rows(const mk_matrix *w, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1, int stype) {
    float dots[4];
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        mlx8_group(w, r, 4, sv, stype, dots);
        for (int i = 0; i < 4; i++) mk_store(out, r + i, dots[i]);
    }
    for (; r < r1; r++) {
        mlx8_group(w, r, 1, sv, stype, dots);
        mk_store(out, r, dots[0]);
    }
}

T void mk_rows_i8_avx512(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1) {
    switch (w->format) {
    case MK_FORMAT_Q8_0: q8_0_rows(w, sv, out, r0, r1); break;
    case MK_FORMAT_Q4_0: mk_rows_i8_q4_0_limbs(w, x, sv, out, r0, r1); break;
    case MK_FORMAT_MLX8:
        switch (w->scale_type) {
        case MK_SCALE_F16: mlx8_rows(w, sv, out, r0, r1, MK_SCALE_F16); break;
        case MK_SCALE_BF16: mlx8_rows(w, sv, out, r0, r1, MK_SCALE_BF16); break;
        default: mlx8_rows(w, sv, out, r0, r1, MK_SCALE_F32); break;
        }
        break;
    case MK_FORMAT_MLX4: mk_rows_i8_mlx4_limbs(w, x, sv, out, r0, r1); break;
    default:
        mk_rows_avx512(w, x, sv, out, r0, r1);      // formats without an int8 path stay exact
        break;
    }
}
#endif
