// Several vectors against one matrix with the weights unpacked once (the batched product of
// mk_matvec_batch on the AVX-512 path): each row's weights are loaded and converted to f32 once
// (bf16 shift, f16 conversion, MLX byte to float) and multiplied with up to
// MK_MULTI_VECTORS activation vectors while in registers. The arithmetic per vector is exactly
// the single-vector AVX2 row's (mk_matvec_avx2.c: dense_row, mlx_group with one row): the same
// accumulators, the same order of FMAs, the same horizontal sums, so every vector's result
// equals its product alone bit for bit. Compiled with AVX-512 VL for its 32 ymm registers
// (4 vectors x 4 accumulators stay in registers); the instructions are 256-bit.
//
// Covered: f32, bf16, f16 (any precision: they have no int8 path) and exact MLX 8-bit. Q8_0,
// Q4_0, exact MLX 4-bit (its AVX-512 kernel is mk_matvec_limbs_avx512.c) and the
// int8-activation products keep the per-vector loop over 16-row slices.
#if defined(__x86_64__)
#include "mk_avx2.h"

#define T __attribute__((target("avx2,fma,f16c,avx512f,avx512vl")))
#define TI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl"), always_inline)) static inline

// The loaders of mk_matvec_avx2.c (same instructions, so the same values).
TI __m256 mv_load_bf16(const uint8_t *p) {
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

TI __m256 mv_load_dense(const uint8_t *row, int64_t i, int format) {
    switch (format) {
    case MK_FORMAT_BF16: return mv_load_bf16(row + 2 * i);
    case MK_FORMAT_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * i)));
    default: return _mm256_loadu_ps((const float *)(row + 4 * i));
    }
}

TI float mv_dense_element(const uint8_t *row, int64_t i, int format) {
    switch (format) {
    case MK_FORMAT_BF16: return mk_bfloat_to_float(mk_load_u16(row + 2 * i));
    case MK_FORMAT_F16: return _cvtsh_ss(mk_load_u16(row + 2 * i));
    default: return mk_load_f32(row + 4 * i);
    }
}

TI __m256 mv_u8x8(const uint8_t *p) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p))); }

// ---- f32, bf16, f16 --------------------------------------------------------------------------

/// Columns i..i+31 of a row into each vector's four accumulators (dense_row's 32-column step).
TI void dense_step32(const uint8_t *row, const float *x, int64_t cols, int64_t i, int nv, int format,
                     __m256 a[MK_MULTI_VECTORS][4]) {
    __m256 w0 = mv_load_dense(row, i, format), w1 = mv_load_dense(row, i + 8, format);
    __m256 w2 = mv_load_dense(row, i + 16, format), w3 = mv_load_dense(row, i + 24, format);
    for (int v = 0; v < nv; v++) {
        const float *xv = x + v * cols + i;
        a[v][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xv), a[v][0]);
        a[v][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xv + 8), a[v][1]);
        a[v][2] = _mm256_fmadd_ps(w2, _mm256_loadu_ps(xv + 16), a[v][2]);
        a[v][3] = _mm256_fmadd_ps(w3, _mm256_loadu_ps(xv + 24), a[v][3]);
    }
}

/// One row against `nv` vectors (x + v * cols): dense_row's four accumulators per vector.
TI void dense_row_multi(const uint8_t *row, const float *x, int64_t cols, int nv, int format, float *dots) {
    __m256 a[MK_MULTI_VECTORS][4];
    for (int v = 0; v < nv; v++) a[v][0] = a[v][1] = a[v][2] = a[v][3] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= cols; i += 32) dense_step32(row, x, cols, i, nv, format, a);
    int64_t tail = i;
    for (; i + 8 <= cols; i += 8) {
        __m256 w0 = mv_load_dense(row, i, format);
        for (int v = 0; v < nv; v++) a[v][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + v * cols + i), a[v][0]);
    }
    tail = i;
    for (int v = 0; v < nv; v++) {
        const float *xv = x + v * cols;
        float s = mk_hsum(_mm256_add_ps(_mm256_add_ps(a[v][0], a[v][1]), _mm256_add_ps(a[v][2], a[v][3])));
        for (int64_t j = tail; j < cols; j++) s += mv_dense_element(row, j, format) * xv[j];
        dots[v] = s;
    }
}

/// Columns per pass of `dense_rows_multi` over wide rows: the vectors' slices of 1024 columns
/// (16 KB for four) stay in L1 while every row of the slice goes by.
#define MK_MULTI_COLUMNS 1024
#define MK_MULTI_SLICE 16

TI void dense_rows_multi(const mk_matrix *w, const float *x, mk_out *outs, int nv, int64_t r0, int64_t r1, int format) {
    const int64_t rb = mk_row_bytes(w), cols = w->cols;
    float dots[MK_MULTI_VECTORS];
    if (cols <= MK_MULTI_COLUMNS || nv == 1 || r1 - r0 > MK_MULTI_SLICE) {
        for (int64_t r = r0; r < r1; r++) {
            dense_row_multi((const uint8_t *)w->data + r * rb, x, cols, nv, format, dots);
            for (int v = 0; v < nv; v++) mk_store(outs[v], r, dots[v]);
        }
        return;
    }
    // Wide rows (the 7B model's 4096 to 11264 columns: four vectors are 64 to 180 KB, more than
    // L1): the slice's rows go by 1024 columns at a time, each row's accumulators saved between
    // passes. Every accumulator sees the same FMAs in the same order as in dense_row_multi, so
    // the sums are the same bit for bit; only the vectors are read from L1 instead of L2.
    __m256 saved[MK_MULTI_SLICE][MK_MULTI_VECTORS][4];
    const int64_t main = cols / 32 * 32;
    const int64_t eb = format == MK_FORMAT_F32 ? 4 : 2;
    for (int64_t r = r0; r < r1; r++)
        for (int v = 0; v < nv; v++) saved[r - r0][v][0] = saved[r - r0][v][1] = saved[r - r0][v][2] = saved[r - r0][v][3] = _mm256_setzero_ps();
    for (int64_t c0 = 0; c0 < main; c0 += MK_MULTI_COLUMNS) {
        const int64_t c1 = c0 + MK_MULTI_COLUMNS < main ? c0 + MK_MULTI_COLUMNS : main;
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *row = (const uint8_t *)w->data + r * rb;
            // What comes next is not where the hardware prefetcher looks: the same columns of
            // the next row (or the next columns of the slice's first row), so ask for them
            // while this row's piece is multiplied (one line per 64 bytes read).
            const uint8_t *next = r + 1 < r1 ? row + rb : (const uint8_t *)w->data + r0 * rb + (c1 - c0) * eb;
            __m256 a[MK_MULTI_VECTORS][4];
            for (int v = 0; v < nv; v++)
                for (int j = 0; j < 4; j++) a[v][j] = saved[r - r0][v][j];
            for (int64_t i = c0; i < c1; i += 32) {
                _mm_prefetch((const char *)(next + i * eb), _MM_HINT_T0);
                if (eb == 4) _mm_prefetch((const char *)(next + i * eb + 64), _MM_HINT_T0);
                dense_step32(row, x, cols, i, nv, format, a);
            }
            for (int v = 0; v < nv; v++)
                for (int j = 0; j < 4; j++) saved[r - r0][v][j] = a[v][j];
        }
    }
    // The ends of the rows exactly as dense_row_multi finishes them.
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * rb;
        int64_t i = main;
        for (; i + 8 <= cols; i += 8) {
            __m256 w0 = mv_load_dense(row, i, format);
            for (int v = 0; v < nv; v++) saved[r - r0][v][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + v * cols + i), saved[r - r0][v][0]);
        }
        for (int v = 0; v < nv; v++) {
            const float *xv = x + v * cols;
            __m256 *a = saved[r - r0][v];
            float s = mk_hsum(_mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3])));
            for (int64_t j = i; j < cols; j++) s += mv_dense_element(row, j, format) * xv[j];
            mk_store(outs[v], r, s);
        }
    }
}

// ---- exact MLX 8-bit --------------------------------------------------------------------------

/// One row against `nv` vectors: the single AVX2 kernel's MLX 8-bit group sums, per vector.
TI void mlx8_row_multi(const mk_matrix *w, int64_t r, const float *x, const mk_scratch_view *svs, int nv,
                       int stype, float *dots) {
    const int64_t rb = mk_row_bytes(w), groups = w->cols / w->group_size;
    const int bpg = w->group_size / MK_BLOCK;
    const uint8_t *row = (const uint8_t *)w->data + r * rb;
    __m256 acc[MK_MULTI_VECTORS];
    for (int v = 0; v < nv; v++) acc[v] = _mm256_setzero_ps();
    for (int64_t g = 0; g < groups; g++) {
        __m256 s[MK_MULTI_VECTORS];
        for (int v = 0; v < nv; v++) s[v] = _mm256_setzero_ps();
        for (int k = 0; k < bpg; k++) {
            const int64_t b = g * bpg + k;
            const uint8_t *p = row + b * 32;
            const __m256 w0 = mv_u8x8(p), w1 = mv_u8x8(p + 8), w2 = mv_u8x8(p + 16), w3 = mv_u8x8(p + 24);
            for (int v = 0; v < nv; v++) {
                const float *xb = x + v * w->cols + b * MK_BLOCK;
                s[v] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xb), s[v]);
                s[v] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xb + 8), s[v]);
                s[v] = _mm256_fmadd_ps(w2, _mm256_loadu_ps(xb + 16), s[v]);
                s[v] = _mm256_fmadd_ps(w3, _mm256_loadu_ps(xb + 24), s[v]);
            }
        }
        __m256 scale = mk_bcast_scale(w->scales, stype, r * groups + g);
        for (int v = 0; v < nv; v++) acc[v] = _mm256_fmadd_ps(scale, s[v], acc[v]);
    }
    for (int v = 0; v < nv; v++) dots[v] = mk_hsum(acc[v]) + mk_bias_dot(w->biases, stype, r * groups, svs[v].xsum, groups);
}

TI void mlx8_rows_multi(const mk_matrix *w, const float *x, const mk_scratch_view *svs, mk_out *outs, int nv,
                        int64_t r0, int64_t r1, int stype) {
    float dots[MK_MULTI_VECTORS];
    for (int64_t r = r0; r < r1; r++) {
        mlx8_row_multi(w, r, x, svs, nv, stype, dots);
        for (int v = 0; v < nv; v++) mk_store(outs[v], r, dots[v]);
    }
}

#define MK_DISPATCH_NV(call_with_nv) \
    switch (nv) { case 1: call_with_nv(1); break; case 2: call_with_nv(2); break; \
                  case 3: call_with_nv(3); break; default: call_with_nv(4); break; }

int mk_multi_supported(const mk_matrix *w, int32_t precision) {
    switch (w->format) {
    case MK_FORMAT_F32: case MK_FORMAT_BF16: case MK_FORMAT_F16: return 1;
    // Exact MLX 4-bit runs its own single-vector kernel (mk_matvec_limbs_avx512.c) per vector.
    case MK_FORMAT_MLX8: return precision == MK_PRECISION_EXACT;
    default: return 0;
    }
}

T void mk_rows_multi_avx512(const mk_matrix *w, const float *x, const mk_scratch_view *svs, mk_out *outs, int nv,
                            int64_t r0, int64_t r1) {
    switch (w->format) {
#define DENSE(n) dense_rows_multi(w, x, outs, n, r0, r1, format)
    case MK_FORMAT_F32: { const int format = MK_FORMAT_F32; MK_DISPATCH_NV(DENSE) break; }
    case MK_FORMAT_BF16: { const int format = MK_FORMAT_BF16; MK_DISPATCH_NV(DENSE) break; }
    case MK_FORMAT_F16: { const int format = MK_FORMAT_F16; MK_DISPATCH_NV(DENSE) break; }
#undef DENSE
#define MLX(n) mlx8_rows_multi(w, x, svs, outs, n, r0, r1, stype)
    case MK_FORMAT_MLX8:
        switch (w->scale_type) {
        case MK_SCALE_F16: { const int stype = MK_SCALE_F16; MK_DISPATCH_NV(MLX) break; }
        case MK_SCALE_BF16: { const int stype = MK_SCALE_BF16; MK_DISPATCH_NV(MLX) break; }
        default: { const int stype = MK_SCALE_F32; MK_DISPATCH_NV(MLX) break; }
        }
        break;
#undef MLX
    default: break;
    }
}
#endif
