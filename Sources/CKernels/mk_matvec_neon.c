// NEON row kernels (arm64, baseline ARMv8 NEON): exact products for every format and the
// int8-activation products (vmull_s8 + vpadalq_s16: no dot-product extension needed).
// One row at a time. Tested on x86 machines under qemu-aarch64 (see the report of the change
// that added them); the x86 test runs do not exercise this file.
#if defined(__aarch64__)
#include <arm_neon.h>
#include "mk_internal.h"

// ---- dense formats ----------------------------------------------------------------------------

static float dense_row(const mk_matrix *w, const uint8_t *row, const float *x, int64_t n) {
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t w0, w1;
        if (w->format == MK_FORMAT_F32) {
            w0 = vreinterpretq_f32_u8(vld1q_u8(row + 4 * i));
            w1 = vreinterpretq_f32_u8(vld1q_u8(row + 4 * i + 16));
        } else {
            uint16x8_t h = vreinterpretq_u16_u8(vld1q_u8(row + 2 * i));
            if (w->format == MK_FORMAT_BF16) {
                w0 = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
                w1 = vreinterpretq_f32_u32(vshll_n_u16(vget_high_u16(h), 16));
            } else {
                float16x8_t f = vreinterpretq_f16_u16(h);
                w0 = vcvt_f32_f16(vget_low_f16(f));
                w1 = vcvt_f32_f16(vget_high_f16(f));
            }
        }
        a0 = vfmaq_f32(a0, w0, vld1q_f32(x + i));
        a1 = vfmaq_f32(a1, w1, vld1q_f32(x + i + 4));
    }
    float s = vaddvq_f32(vaddq_f32(a0, a1));
    for (; i < n; i++) {
        float v = w->format == MK_FORMAT_F32 ? mk_load_f32(row + 4 * i)
                : w->format == MK_FORMAT_BF16 ? mk_bfloat_to_float(mk_load_u16(row + 2 * i))
                : mk_half_to_float(mk_load_u16(row + 2 * i));
        s += v * x[i];
    }
    return s;
}

// ---- quantized formats, exact -----------------------------------------------------------------

/// acc += 8 signed 16-bit weights times x[0..8).
static inline float32x4_t fma_s16(float32x4_t acc, int16x8_t q, const float *x) {
    acc = vfmaq_f32(acc, vcvtq_f32_s32(vmovl_s16(vget_low_s16(q))), vld1q_f32(x));
    return vfmaq_f32(acc, vcvtq_f32_s32(vmovl_s16(vget_high_s16(q))), vld1q_f32(x + 4));
}

/// sum of 32 signed bytes (two vectors of 16) times x[0..32), as 4 lanes.
static inline float32x4_t dot32_s8(int8x16_t lo, int8x16_t hi, const float *x) {
    float32x4_t s = vdupq_n_f32(0.0f);
    s = fma_s16(s, vmovl_s8(vget_low_s8(lo)), x);
    s = fma_s16(s, vmovl_s8(vget_high_s8(lo)), x + 8);
    s = fma_s16(s, vmovl_s8(vget_low_s8(hi)), x + 16);
    return fma_s16(s, vmovl_s8(vget_high_s8(hi)), x + 24);
}

static float gguf_row(const mk_matrix *w, const uint8_t *row, const float *x) {
    const int64_t nb = w->cols / MK_BLOCK;
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < nb; b++) {
        int8x16_t lo, hi;
        const uint8_t *blk;
        if (w->format == MK_FORMAT_Q8_0) {
            blk = row + b * MK_Q8_0_BYTES;
            lo = vld1q_s8((const int8_t *)blk + 2);
            hi = vld1q_s8((const int8_t *)blk + 18);
        } else {
            blk = row + b * MK_Q4_0_BYTES;
            uint8x16_t v = vld1q_u8(blk + 2);
            lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0F))), vdupq_n_s8(8));   // elements 0..15
            hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), vdupq_n_s8(8));                // elements 16..31
        }
        acc = vfmaq_n_f32(acc, dot32_s8(lo, hi, x + b * MK_BLOCK), mk_half_to_float(mk_load_u16(blk)));
    }
    return vaddvq_f32(acc);
}

/// 4 unsigned bytes (in the low lanes of a u16x4 widened from u8) to floats.
static inline float32x4_t u16_to_f32(uint16x4_t v) { return vcvtq_f32_u32(vmovl_u16(v)); }

static float mlx_row(const mk_matrix *w, const uint8_t *row, int64_t r, const float *x, const float *xsum) {
    const int64_t groups = w->cols / w->group_size;
    const int is4 = w->format == MK_FORMAT_MLX4;
    float32x4_t acc = vdupq_n_f32(0.0f);
    float bias = 0.0f;
    for (int64_t g = 0; g < groups; g++) {
        float32x4_t s = vdupq_n_f32(0.0f);
        for (int64_t c = g * w->group_size; c < (g + 1) * w->group_size; c += 16) {
            if (is4) {
                // 8 bytes = 16 values: low nibble of byte k is element 2k, the high nibble 2k+1.
                uint8x8_t v = vld1_u8(row + c / 2);
                uint16x8_t lo = vmovl_u8(vand_u8(v, vdup_n_u8(0x0F))), hi = vmovl_u8(vshr_n_u8(v, 4));
                float32x4x2_t x0 = vld2q_f32(x + c), x1 = vld2q_f32(x + c + 8);   // evens, odds
                s = vfmaq_f32(s, u16_to_f32(vget_low_u16(lo)), x0.val[0]);
                s = vfmaq_f32(s, u16_to_f32(vget_low_u16(hi)), x0.val[1]);
                s = vfmaq_f32(s, u16_to_f32(vget_high_u16(lo)), x1.val[0]);
                s = vfmaq_f32(s, u16_to_f32(vget_high_u16(hi)), x1.val[1]);
            } else {
                uint8x16_t v = vld1q_u8(row + c);
                uint16x8_t a = vmovl_u8(vget_low_u8(v)), b = vmovl_u8(vget_high_u8(v));
                s = vfmaq_f32(s, u16_to_f32(vget_low_u16(a)), vld1q_f32(x + c));
                s = vfmaq_f32(s, u16_to_f32(vget_high_u16(a)), vld1q_f32(x + c + 4));
                s = vfmaq_f32(s, u16_to_f32(vget_low_u16(b)), vld1q_f32(x + c + 8));
                s = vfmaq_f32(s, u16_to_f32(vget_high_u16(b)), vld1q_f32(x + c + 12));
            }
        }
        int64_t gi = r * groups + g;
        acc = vfmaq_n_f32(acc, s, mk_scale_at(w->scales, w->scale_type, gi));
        bias += mk_scale_at(w->biases, w->scale_type, gi) * xsum[g];
    }
    return vaddvq_f32(acc) + bias;
}

void mk_rows_neon(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1) {
    const int64_t rb = mk_row_bytes(w);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * rb;
        float v;
        switch (w->format) {
        case MK_FORMAT_F32: case MK_FORMAT_BF16: case MK_FORMAT_F16: v = dense_row(w, row, x, w->cols); break;
        case MK_FORMAT_Q8_0: case MK_FORMAT_Q4_0: v = gguf_row(w, row, x); break;
        case MK_FORMAT_MLX4: case MK_FORMAT_MLX8: v = mlx_row(w, row, r, x, sv->xsum); break;
        default: v = 0.0f; break;
        }
        mk_store(out, r, v);
    }
}

// ---- int8 activations -------------------------------------------------------------------------

/// Exact integer dot product of 32 signed weight bytes (lo: 0..15, hi: 16..31) with 32 int8 activations.
static inline int32_t dot32_i8(int8x16_t lo, int8x16_t hi, const int8_t *xq) {
    int8x16_t x0 = vld1q_s8(xq), x1 = vld1q_s8(xq + 16);
    int32x4_t acc = vdupq_n_s32(0);
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(lo), vget_low_s8(x0)));     // |products| <= 128 * 127
    acc = vpadalq_s16(acc, vmull_s8(vget_high_s8(lo), vget_high_s8(x0)));
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(hi), vget_low_s8(x1)));
    acc = vpadalq_s16(acc, vmull_s8(vget_high_s8(hi), vget_high_s8(x1)));
    return vaddvq_s32(acc);
}

void mk_rows_i8_neon(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1) {
    (void)x;
    const int64_t rb = mk_row_bytes(w), nb = w->cols / MK_BLOCK;
    const int is_mlx = w->format == MK_FORMAT_MLX4 || w->format == MK_FORMAT_MLX8;
    const int64_t groups = is_mlx ? w->cols / w->group_size : 0;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * rb;
        float acc = 0.0f;
        for (int64_t b = 0; b < nb; b++) {
            int8x16_t lo, hi;
            const int8_t *xq = sv->xq + b * MK_BLOCK;
            int32_t offset = 0;
            float scale;
            switch (w->format) {
            case MK_FORMAT_Q8_0: {
                const uint8_t *blk = row + b * MK_Q8_0_BYTES;
                lo = vld1q_s8((const int8_t *)blk + 2);
                hi = vld1q_s8((const int8_t *)blk + 18);
                scale = mk_half_to_float(mk_load_u16(blk));
                break;
            }
            case MK_FORMAT_Q4_0: {
                const uint8_t *blk = row + b * MK_Q4_0_BYTES;
                uint8x16_t v = vld1q_u8(blk + 2);
                lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0F))), vdupq_n_s8(8));
                hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), vdupq_n_s8(8));
                scale = mk_half_to_float(mk_load_u16(blk));
                break;
            }
            case MK_FORMAT_MLX4: {
                // Low nibbles are elements 0, 2, .., 30, high nibbles 1, 3, .., 31: xqp's order.
                uint8x16_t v = vld1q_u8(row + b * 16);
                lo = vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0F)));
                hi = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
                xq = sv->xqp + b * MK_BLOCK;
                scale = mk_scale_at(w->scales, w->scale_type, r * groups + b * MK_BLOCK / w->group_size);
                break;
            }
            default: {   // MLX8: q - 128 fits a signed byte; 128 * sum(xq) is added back
                uint8x16_t flip = vdupq_n_u8(0x80);
                lo = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(row + b * 32), flip));
                hi = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(row + b * 32 + 16), flip));
                offset = 128 * sv->qsum[b];
                scale = mk_scale_at(w->scales, w->scale_type, r * groups + b * MK_BLOCK / w->group_size);
                break;
            }
            }
            acc += scale * sv->xd[b] * (float)(dot32_i8(lo, hi, xq) + offset);
        }
        for (int64_t g = 0; g < groups; g++) acc += mk_scale_at(w->biases, w->scale_type, r * groups + g) * sv->xsum[g];
        mk_store(out, r, acc);
    }
}
#endif
