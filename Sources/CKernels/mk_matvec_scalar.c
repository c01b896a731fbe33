// The scalar reference of every matrix-vector product and the dequantizer: plain loops over
// the values each format's definition gives, accumulated in double. Every SIMD path is tested
// against these, and they are the fallback where no SIMD path exists.
#include <math.h>
#include "mk_internal.h"

/// Element c of row r, dequantized exactly as the format defines it.
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
        int64_t g = r * (w->cols / w->group_size) + c / w->group_size;
        float scaled = mk_scale_at(w->scales, w->scale_type, g) * (float)q;   // rounded, then
        return scaled + mk_scale_at(w->biases, w->scale_type, g);              // rounded again
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

void mk_rows_scalar(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1) {
    (void)sv;
    int64_t rb = mk_row_bytes(w);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * rb;
        double acc = 0.0;
        for (int64_t c = 0; c < w->cols; c++) acc += (double)element(w, row, r, c) * (double)x[c];
        mk_store(out, r, (float)acc);
    }
}

/// Weight value q (before scale) of element j of block b, as the int8 path multiplies it:
/// Q8_0 the signed byte, Q4_0 the nibble minus 8, MLX the unsigned q.
static inline int32_t raw_q(const mk_matrix *w, const uint8_t *row, int64_t b, int j) {
    switch (w->format) {
    case MK_FORMAT_Q8_0: return (int8_t)row[b * MK_Q8_0_BYTES + 2 + j];
    case MK_FORMAT_Q4_0: {
        const uint8_t *q = row + b * MK_Q4_0_BYTES + 2;
        return (j < 16 ? (q[j] & 0x0F) : (q[j - 16] >> 4)) - 8;
    }
    case MK_FORMAT_MLX4: {
        uint8_t byte = row[b * 16 + j / 2];
        return (j & 1) ? byte >> 4 : byte & 0x0F;
    }
    case MK_FORMAT_MLX8: return row[b * MK_BLOCK + j];
    default: return 0;
    }
}

/// The int8-activation reference: exact integer dot products per 32-block, then
/// weight scale * activation scale * dot (+ MLX: bias * sum(x) per group), summed in double.
void mk_rows_i8_scalar(const mk_matrix *w, const float *x, const mk_scratch_view *sv, mk_out out, int64_t r0, int64_t r1) {
    (void)x;
    int64_t rb = mk_row_bytes(w);
    int64_t nb = w->cols / MK_BLOCK;
    int is_mlx = w->format == MK_FORMAT_MLX4 || w->format == MK_FORMAT_MLX8;
    int64_t groups = is_mlx ? w->cols / w->group_size : 0;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * rb;
        double acc = 0.0;
        for (int64_t b = 0; b < nb; b++) {
            const int8_t *xq = sv->xq + b * MK_BLOCK;
            int32_t dot = 0;
            for (int j = 0; j < MK_BLOCK; j++) dot += raw_q(w, row, b, j) * xq[j];
            double scale;
            if (is_mlx) scale = mk_scale_at(w->scales, w->scale_type, r * groups + b * MK_BLOCK / w->group_size);
            else scale = mk_half_to_float(mk_load_u16(row + b * (w->format == MK_FORMAT_Q8_0 ? MK_Q8_0_BYTES : MK_Q4_0_BYTES)));
            acc += scale * (double)sv->xd[b] * (double)dot;
        }
        for (int64_t g = 0; g < groups; g++) {
            acc += (double)mk_scale_at(w->biases, w->scale_type, r * groups + g) * (double)sv->xsum[g];
        }
        mk_store(out, r, (float)acc);
    }
}

void mk_quantize_scalar(const float *x, int64_t nb, int8_t *xq, float *xd, int32_t *qsum) {
    for (int64_t b = 0; b < nb; b++) {
        const float *xb = x + b * MK_BLOCK;
        float amax = 0.0f;
        for (int j = 0; j < MK_BLOCK; j++) amax = fmaxf(amax, fabsf(xb[j]));
        float d, id;
        mk_block_scale(amax, &d, &id);
        int32_t sum = 0;
        for (int j = 0; j < MK_BLOCK; j++) {
            long q = lrintf(xb[j] * id);                 // current rounding mode: nearest, ties to even
            q = q > 127 ? 127 : q < -127 ? -127 : q;
            xq[b * MK_BLOCK + j] = (int8_t)q;
            sum += (int32_t)q;
        }
        xd[b] = d;
        qsum[b] = sum;
    }
}
