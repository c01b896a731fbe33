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
//   Q4_0   the raw nibbles; the lane corrections (-8 * xq) start the sum.
//   MLX8   q is unsigned already: no correction at all.
// MLX4 int8 runs the AVX2 pair kernel (its vpdpbusd version was 10 % slower from memory on Zen 4).
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

// ---- int8 activations: GGUF Q8_0 and Q4_0 -----------------------------------------------------

/// 16 bytes of nibbles as 32 bytes: low nibbles of bytes 0..15, then high nibbles of bytes 0..15.
TI __m256i nibbles(const uint8_t *p) {
    __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p));
    return _mm256_and_si256(_mm256_srlv_epi64(v, _mm256_set_epi64x(4, 4, 0, 0)), _mm256_set1_epi8(0x0F));
}

TI void gguf_group(const uint8_t *row, int64_t rb, int nr, const mk_scratch_view *sv, int64_t nb, int is_q8, float *dots) {
    __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    const int64_t bb = is_q8 ? MK_Q8_0_BYTES : MK_Q4_0_BYTES;
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    for (int64_t b = 0; b < nb; b++) {
        __m256i xq = _mm256_loadu_si256((const __m256i *)(sv->xq + b * MK_BLOCK));
        __m256 xd = _mm256_set1_ps(sv->xd[b]);
        __m256i k = _mm256_loadu_si256((const __m256i *)((const int32_t *)sv->kvec + 8 * b));
        if (is_q8 || b % 3 == 0) mk_prefetch_next_group(row, rb, nr, b * bb);
        for (int i = 0; i < nr; i++) {
            const uint8_t *blk = row + i * rb + b * bb;
            __m256i q = is_q8 ? _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(blk + 2)), flip) : nibbles(blk + 2);
            __m256i dot = _mm256_dpbusd_epi32(k, q, xq);
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

// ---- int8 activations: MLX affine 4- and 8-bit -------------------------------------------------

/// MLX 8-bit: q is unsigned, so vpdpbusd takes it as it is (no correction).
TI void mlx8_group(const mk_matrix *w, int64_t r, int nr, const mk_scratch_view *sv, int stype, float *dots) {
    const int64_t rb = mk_row_bytes(w), groups = w->cols / w->group_size;
    const int bpg = w->group_size / MK_BLOCK;
    const uint8_t *row = (const uint8_t *)w->data + r * rb;
    __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
    for (int64_t g = 0; g < groups; g++) {
        __m256 s[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
        for (int k = 0; k < bpg; k++) {
            const int64_t b = g * bpg + k;
            __m256 xd = _mm256_set1_ps(sv->xd[b]);
            __m256i xq = _mm256_loadu_si256((const __m256i *)(sv->xq + b * MK_BLOCK));
            if (b % 2 == 0) mk_prefetch_next_group(row, rb, nr, b * 32);
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
    case MK_FORMAT_Q8_0: gguf_rows(w, sv, out, r0, r1, 1); break;
    case MK_FORMAT_Q4_0: gguf_rows(w, sv, out, r0, r1, 0); break;
    case MK_FORMAT_MLX8:
        switch (w->scale_type) {
        case MK_SCALE_F16: mlx8_rows(w, sv, out, r0, r1, MK_SCALE_F16); break;
        case MK_SCALE_BF16: mlx8_rows(w, sv, out, r0, r1, MK_SCALE_BF16); break;
        default: mlx8_rows(w, sv, out, r0, r1, MK_SCALE_F32); break;
        }
        break;
    case MK_FORMAT_MLX4:
        mk_rows_i8_avx2(w, x, sv, out, r0, r1);     // a vpdpbusd version measured 10 % slower from memory
        break;
    default:
        mk_rows_avx512(w, x, sv, out, r0, r1);      // formats without an int8 path stay exact
        break;
    }
}
#endif
