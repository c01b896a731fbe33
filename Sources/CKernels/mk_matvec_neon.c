// NEON row kernels (arm64): f32, bf16 and f16 vectorised; the quantized formats fall back to
// the scalar reference. Not exercised on the x86 CI machines.
#if defined(__aarch64__)
#include <arm_neon.h>
#include "mk_internal.h"

static float row_neon(const mk_matrix *w, const uint8_t *row, const float *x, int64_t n) {
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t w0, w1;
        if (w->format == MK_FORMAT_F32) {
            w0 = vld1q_f32((const float *)row + i);
            w1 = vld1q_f32((const float *)row + i + 4);
        } else {
            uint16x8_t h = vld1q_u16((const uint16_t *)row + i);
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

void mk_rows_neon(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1) {
    if (w->format != MK_FORMAT_F32 && w->format != MK_FORMAT_BF16 && w->format != MK_FORMAT_F16) {
        mk_rows_scalar(w, x, sv, out, r0, r1);
        return;
    }
    const int64_t rb = mk_row_bytes(w);
    for (int64_t r = r0; r < r1; r++) mk_store(out, r, row_neon(w, (const uint8_t *)w->data + r * rb, x, w->cols));
}
#endif
