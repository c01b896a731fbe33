// Shared by the kernel files (not part of the public interface).
#ifndef MOSHI_MK_INTERNAL_H
#define MOSHI_MK_INTERNAL_H
#include <stdint.h>
#include <string.h>
#include "mk_matvec.h"

#define MK_BLOCK 32
#define MK_Q8_0_BYTES 34
#define MK_Q4_0_BYTES 18

static inline uint16_t mk_load_u16(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline float mk_load_f32(const void *p) { float v; memcpy(&v, p, 4); return v; }

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

/// Scratch layout (see mk_matvec.h).
typedef struct {
    float *xsum;
    float *xd;
    int32_t *qsum;
    int8_t *xq;
} mk_scratch_view;

static inline mk_scratch_view mk_scratch_split(const mk_scratch *s, int64_t cols) {
    int64_t nb = (cols + MK_BLOCK - 1) / MK_BLOCK;
    int64_t padded = (nb + 15) & ~(int64_t)15;
    mk_scratch_view v;
    v.xsum = (float *)s;
    v.xd = (float *)s + padded;
    v.qsum = (int32_t *)((float *)s + 2 * padded);
    v.xq = (int8_t *)((float *)s + 3 * padded);
    return v;
}

// Row kernels per path. `x` is the f32 activation vector; `sv` the prepared scratch.
void mk_rows_scalar(const mk_matrix *w, const float *x, mk_scratch_view sv, float *y, int64_t r0, int64_t r1);
void mk_rows_i8_scalar(const mk_matrix *w, mk_scratch_view sv, float *y, int64_t r0, int64_t r1);
#if defined(__x86_64__)
void mk_rows_avx2(const mk_matrix *w, const float *x, mk_scratch_view sv, float *y, int64_t r0, int64_t r1);
void mk_rows_i8_avx2(const mk_matrix *w, mk_scratch_view sv, float *y, int64_t r0, int64_t r1);
double mk_read_avx2(const void *data, int64_t bytes);
#endif
#if defined(__aarch64__)
void mk_rows_neon(const mk_matrix *w, const float *x, mk_scratch_view sv, float *y, int64_t r0, int64_t r1);
#endif
#endif
