// The scalar reference of every matrix-vector product: plain loops over the dequantized values,
// accumulated in double. The SIMD paths are tested against these.
#include "mk_internal.h"

/// Dequantized element c of row r.
static inline float element(const mk_matrix *w, const uint8_t *row, int64_t r, int64_t c) {
    switch (w->format) {
    case MK_FORMAT_F32: return mk_load_f32(row + 4 * c);
    case MK_FORMAT_BF16: return mk_bfloat_to_float(mk_load_u16(row + 2 * c));
    case MK_FORMAT_F16: return mk_half_to_float(mk_load_u16(row + 2 * c));
    case MK_FORMAT_Q8_0: {
        const uint8_t *block = row + (c / MK_BLOCK) * MK_Q8_0_BYTES;
        return mk_half_to_float(mk_load_u16(block)) * (float)(int8_t)block[2 + c % MK_BLOCK];
    }
    case MK_FORMAT_Q4_0: {
        const uint8_t *block = row + (c / MK_BLOCK) * MK_Q4_0_BYTES;
        int j = (int)(c % MK_BLOCK);
        int q = j < 16 ? (block[2 + j] & 0x0F) : (block[2 + j - 16] >> 4);
        return mk_half_to_float(mk_load_u16(block)) * (float)(q - 8);
    }
    case MK_FORMAT_MLX4: case MK_FORMAT_MLX8: {
        int bits = w->format == MK_FORMAT_MLX4 ? 4 : 8;
        int per_word = 32 / bits;
        uint32_t word;
        memcpy(&word, row + 4 * (c / per_word), 4);
        uint32_t q = (word >> (bits * (c % per_word))) & ((1u << bits) - 1u);
        int64_t groups = w->cols / w->group_size;
        int64_t g = r * groups + c / w->group_size;
        float scale = mk_scale_at(w->scales, w->scale_type, g);
        float bias = mk_scale_at(w->biases, w->scale_type, g);
        return scale * (float)q + bias;
    }
    default: return 0.0f;
    }
}

void mk_dequantize_rows(const mk_matrix *w, int64_t r0, int64_t r1, float *out) {
    int64_t rb = mk_row_bytes(w);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * rb;
        for (int64_t c = 0; c < w->cols; c++) out[(r - r0) * w->cols + c] = element(w, row, r, c);
    }
}

void mk_rows_scalar(const mk_matrix *w, const float *x, mk_scratch_view sv, float *y, int64_t r0, int64_t r1) {
    (void)sv;
    int64_t rb = mk_row_bytes(w);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * rb;
        double acc = 0.0;
        for (int64_t c = 0; c < w->cols; c++) acc += (double)element(w, row, r, c) * (double)x[c];
        y[r] = (float)acc;
    }
}

/// int8-activation reference: exact integer dot products per 32-block, scaled in double.
void mk_rows_i8_scalar(const mk_matrix *w, mk_scratch_view sv, float *y, int64_t r0, int64_t r1) {
    int64_t rb = mk_row_bytes(w);
    int64_t nb = w->cols / MK_BLOCK;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * rb;
        double acc = 0.0;
        for (int64_t b = 0; b < nb; b++) {
            const int8_t *xq = sv.xq + b * MK_BLOCK;
            int32_t dot = 0;
            double scale = 0.0, bias_term = 0.0;
            switch (w->format) {
            case MK_FORMAT_Q8_0: {
                const uint8_t *block = row + b * MK_Q8_0_BYTES;
                for (int j = 0; j < MK_BLOCK; j++) dot += (int32_t)(int8_t)block[2 + j] * xq[j];
                scale = (double)mk_half_to_float(mk_load_u16(block));
                break;
            }
            case MK_FORMAT_Q4_0: {
                const uint8_t *block = row + b * MK_Q4_0_BYTES;
                for (int j = 0; j < 16; j++) dot += (int32_t)(block[2 + j] & 0x0F) * xq[j];
                for (int j = 0; j < 16; j++) dot += (int32_t)(block[2 + j] >> 4) * xq[16 + j];
                dot -= 8 * sv.qsum[b];
                scale = (double)mk_half_to_float(mk_load_u16(block));
                break;
            }
            case MK_FORMAT_MLX4: case MK_FORMAT_MLX8: {
                int bits = w->format == MK_FORMAT_MLX4 ? 4 : 8;
                for (int j = 0; j < MK_BLOCK; j++) {
                    int64_t c = b * MK_BLOCK + j;
                    int per_word = 32 / bits;
                    uint32_t word;
                    memcpy(&word, row + 4 * (c / per_word), 4);
                    int32_t q = (int32_t)((word >> (bits * (c % per_word))) & ((1u << bits) - 1u));
                    dot += q * xq[j];
                }
                int64_t g = r * (w->cols / w->group_size) + (b * MK_BLOCK) / w->group_size;
                scale = (double)mk_scale_at(w->scales, w->scale_type, g);
                bias_term = (double)mk_scale_at(w->biases, w->scale_type, g) * (double)sv.xsum[b];
                break;
            }
            default: break;
            }
            acc += scale * (double)sv.xd[b] * (double)dot + bias_term;
        }
        y[r] = (float)acc;
    }
}
