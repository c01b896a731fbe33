// Shared by the kernel files (not part of the public interface): element loads, half-precision
// decoding, the scratch layout, and the row-kernel table the dispatcher picks from.
#ifndef MOSHI_MK_INTERNAL_H
#define MOSHI_MK_INTERNAL_H
#include <stdint.h>
#include <string.h>
#include "mk_matvec.h"

#define MK_BLOCK 32          // GGUF block, and the block of the int8 activations
#define MK_Q8_0_BYTES 34
#define MK_Q4_0_BYTES 18

static inline uint16_t mk_load_u16(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline float mk_load_f32(const void *p) { float v; memcpy(&v, p, 4); return v; }

/// IEEE half to float, exact for every input (subnormals, infinities, NaNs).
static inline float mk_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t mant = h & 0x3FFu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {                      // subnormal: normalise
            exp = 127 - 15 + 1;
            while (!(mant & 0x400u)) { mant <<= 1; exp--; }
            mant &= 0x3FFu;
            bits = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline float mk_bfloat_to_float(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/// The MLX scale or bias `i` of an array stored as `type`.
static inline float mk_scale_at(const void *p, int32_t type, int64_t i) {
    switch (type) {
    case MK_SCALE_F16: return mk_half_to_float(mk_load_u16((const uint8_t *)p + 2 * i));
    case MK_SCALE_BF16: return mk_bfloat_to_float(mk_load_u16((const uint8_t *)p + 2 * i));
    default: return mk_load_f32((const uint8_t *)p + 4 * i);
    }
}

/// Bytes of one stored row.
static inline int64_t mk_row_bytes(const mk_matrix *w) {
    switch (w->format) {
    case MK_FORMAT_F32: return w->cols * 4;
    case MK_FORMAT_BF16: case MK_FORMAT_F16: return w->cols * 2;
    case MK_FORMAT_Q8_0: return w->cols / MK_BLOCK * MK_Q8_0_BYTES;
    case MK_FORMAT_Q4_0: return w->cols / MK_BLOCK * MK_Q4_0_BYTES;
    case MK_FORMAT_MLX4: return w->cols / 2;
    case MK_FORMAT_MLX8: return w->cols;
    default: return 0;
    }
}

/// What one product computes from x before the rows run (see mk_scratch_floats). Filled once per
/// call on the dispatching thread; read by every row kernel.
typedef struct {
    float *xsum;     // [groups] MLX: sum of x over each group, for the bias term (int8: of the int8 x)
    float *xd;       // [nb] int8 path: scale of each 32-block of x (max|x| / 127)
    int32_t *qsum;   // [nb] int8 path: sum of the int8 values of each block
    void *kvec;      // [nb][8] exact Q4_0: floats -8 * (x[l] + x[l+8] + x[l+16] + x[l+24]);
                     //         int8 Q4_0 / MLX8 / Q8_0: int32 lane corrections (see mk_matvec.c)
    float *xp;       // [cols] exact MLX4: x with every 32 values reordered evens, then odds
    int8_t *xq;      // [cols] int8 path: x quantized per block, in order
    int8_t *xqp;     // [cols] int8 MLX4: xq with every 32 values reordered evens, then odds
    int8_t *xlimbs;  // [512 bytes per 128 columns] exact MLX4 / Q4_0 on AVX-512: x as three int8 limbs + lane scales (mk_matvec_limbs_avx512.c)
} mk_scratch_view;

static inline int64_t mk_blocks_padded(int64_t cols) {
    int64_t nb = (cols + MK_BLOCK - 1) / MK_BLOCK;
    return (nb + 15) & ~(int64_t)15;
}

static inline int64_t mk_cols_padded(int64_t cols) { return (cols + 63) & ~(int64_t)63; }

static inline mk_scratch_view mk_scratch_split(const mk_scratch *s, int64_t cols) {
    int64_t nbp = mk_blocks_padded(cols), cp = mk_cols_padded(cols);
    float *p = (float *)s;
    mk_scratch_view v;
    v.xsum = p; p += nbp;
    v.xd = p; p += nbp;
    v.qsum = (int32_t *)p; p += nbp;
    v.kvec = p; p += 8 * nbp;
    v.xp = p; p += cp;
    v.xq = (int8_t *)p; p += cp / 4;
    v.xqp = (int8_t *)p; p += cp / 4;
    v.xlimbs = (int8_t *)p;
    return v;
}

/// Where a row's result goes: y[r] = dot (+ bias[r]) (+ the old y[r] when accumulating).
typedef struct {
    float *y;
    const float *bias;
    int accumulate;
} mk_out;

static inline void mk_store(mk_out out, int64_t r, float dot) {
    if (out.bias) dot += out.bias[r];
    if (out.accumulate) dot += out.y[r];
    out.y[r] = dot;
}

/// Rows [r0, r1) of one product. `x` is the f32 activation vector; `sv` the prepared scratch.
typedef void (*mk_rows_fn)(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out,
                           int64_t r0, int64_t r1);

/// Quantizes `nb` 32-blocks of x to int8: xd[b] = max|x| / 127, xq = x / xd rounded to nearest
/// (ties to even), qsum[b] = sum of the block's xq. Every implementation gives the same bits.
typedef void (*mk_quantize_fn)(const float *x, int64_t nb, int8_t *xq, float *xd, int32_t *qsum);

/// The kernels of one path: the exact product, the int8-activation product (NULL where the path
/// has none; the dispatcher then uses the scalar one), and the activation quantizer.
typedef struct {
    mk_rows_fn exact;
    mk_rows_fn int8;
    mk_quantize_fn quantize;
} mk_kernel_table;

/// The scale of one 32-block of activations, and its inverse, computed the same way everywhere.
static inline void mk_block_scale(float amax, float *d, float *id) {
    *d = amax / 127.0f;
    *id = *d > 0.0f ? 1.0f / *d : 0.0f;
}

/// The most vectors the multi-vector rows take in one pass (mk_matvec_multi_avx512.c).
#define MK_MULTI_VECTORS 4
/// Whether mk_rows_multi_avx512 covers this matrix at this precision: f32, bf16, f16, exact MLX.
int mk_multi_supported(const mk_matrix *w, int32_t precision);
/// Rows [r0, r1) of W against `nv` (1...MK_MULTI_VECTORS) vectors x + v * cols with their
/// scratch views and outputs, each row's weights unpacked once; per vector bit for bit the
/// single-vector AVX2 rows. AVX-512 F/VL path only.
void mk_rows_multi_avx512(const mk_matrix *w, const float *x, const mk_scratch_view *svs, mk_out *outs, int nv,
                          int64_t r0, int64_t r1);

void mk_rows_scalar(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1);
void mk_rows_i8_scalar(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1);
void mk_quantize_scalar(const float *x, int64_t nb, int8_t *xq, float *xd, int32_t *qsum);
#if defined(__x86_64__)
void mk_rows_avx2(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1);
void mk_rows_i8_avx2(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1);
void mk_quantize_avx2(const float *x, int64_t nb, int8_t *xq, float *xd, int32_t *qsum);
void mk_rows_avx512(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1);
/// Bytes of x's int8 limbs per 128 columns (mk_matvec_limbs_avx512.c).
#define MK_LIMB_CHUNK_BYTES 512
void mk_prepare_int8_limbs(const float *x, int64_t cols, int8_t *out);
void mk_rows_mlx4_limbs(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1);
void mk_prepare_q4_0_limbs(const float *x, int64_t cols, int8_t *out);
void mk_rows_q4_0_limbs(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1);
void mk_prepare_int8_limb1(const int8_t *xq, const float *xd, int64_t cols, int q4_0_order, int8_t *out);
void mk_rows_i8_mlx4_limbs(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1);
void mk_rows_i8_q4_0_limbs(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1);
void mk_rows_i8_avx512(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1);
#endif
#if defined(__aarch64__)
void mk_rows_neon(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1);
void mk_rows_i8_neon(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1);
#endif
#endif
