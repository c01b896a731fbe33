#ifndef MOSHI_MK_MATVEC_H
#define MOSHI_MK_MATVEC_H
#include <stdint.h>
#include "mk_pool.h"

/// Weight storage formats (Numerics' WeightFormat).
enum {
    MK_FORMAT_F32 = 0,
    MK_FORMAT_BF16 = 1,
    MK_FORMAT_F16 = 2,
    MK_FORMAT_Q8_0 = 3,     // GGUF: blocks of 32 int8 after an f16 scale (34 bytes)
    MK_FORMAT_Q4_0 = 4,     // GGUF: f16 scale + 16 bytes; j<16 low nibble of byte j, else high nibble of byte j-16; (q-8)*d
    MK_FORMAT_MLX4 = 5,     // MLX affine 4-bit: 8 values per u32, least significant first; scale*q + bias per group
    MK_FORMAT_MLX8 = 6,     // MLX affine 8-bit: 4 values per u32
};
/// Storage of MLX scales and biases.
enum { MK_SCALE_F32 = 0, MK_SCALE_F16 = 1, MK_SCALE_BF16 = 2 };
/// Which implementation runs.
enum { MK_PATH_SCALAR = 0, MK_PATH_AVX2 = 1, MK_PATH_NEON = 2, MK_PATH_BEST = 99 };

/// A row-major weight matrix [rows, cols] viewing memory owned elsewhere.
typedef struct {
    const void *data;
    const void *scales;     // MLX only: [rows, cols / group_size]
    const void *biases;     // MLX only
    int64_t rows;
    int64_t cols;
    int32_t format;
    int32_t group_size;     // MLX only: 32 or 64
    int32_t scale_type;     // MLX only
    int32_t reserved;
} mk_matrix;

/// Scratch for one product: what is computed once from x and reused by every row. A caller
/// allocates `mk_scratch_floats(cols)` floats once (64-byte aligned) and passes them in.
/// Layout (nb = cols/32 blocks): xsum[nb] (sum of x per block), xd[nb] (int8 scale per block),
/// qsum[nb] (sum of the int8 values per block, as int32), xq[cols] (int8 values).
typedef float mk_scratch;

/// Floats of scratch a product with `cols` columns needs.
int64_t mk_scratch_floats(int64_t cols);

/// Checks a matrix's geometry; returns 0 if the kernels can run it, else a negative code:
/// -1 format unknown, -2 cols not a multiple of the block/group, -3 group size unsupported.
int mk_matrix_check(const mk_matrix *w);

/// The path `MK_PATH_BEST` picks on this CPU.
int mk_best_path(void);

/// Exact products: y[r] = sum_c dequant(W[r,c]) * x[c] in f32, for rows [row_begin, row_end).
/// `prepare` fills the per-call scratch (MLX group sums); call it once, then rows in any split.
void mk_matvec_prepare(const mk_matrix *w, const float *x, mk_scratch *scratch);
void mk_matvec_rows(const mk_matrix *w, const float *x, const mk_scratch *scratch, float *y,
                    int64_t row_begin, int64_t row_end, int path);

/// int8-activation products (Q8_0, Q4_0, MLX 4/8 only): x is quantized per 32-block to int8
/// with scale max|x|/127 (round half away from zero), then integer dot products per block.
void mk_matvec_i8_prepare(const mk_matrix *w, const float *x, mk_scratch *scratch);
void mk_matvec_i8_rows(const mk_matrix *w, const mk_scratch *scratch, float *y,
                       int64_t row_begin, int64_t row_end, int path);
/// Whether a format has an int8-activation path.
int mk_format_has_i8(int32_t format);

/// The whole product split over a pool (NULL = this thread): prepare once, rows in chunks.
/// `int8` selects the int8-activation path where the format has one.
void mk_matvec(mk_pool *pool, const mk_matrix *w, const float *x, float *y, mk_scratch *scratch, int int8, int path);

/// Y[n, rows] = X[n, cols] · W^T for n vectors in one pass over W (rows x, y contiguous).
void mk_matvec_batch(mk_pool *pool, const mk_matrix *w, const float *x, int64_t n, float *y, mk_scratch *scratch);

/// Dequantizes rows [row_begin, row_end) of `w` to f32 (row-major, `cols` floats per row).
void mk_dequantize_rows(const mk_matrix *w, int64_t row_begin, int64_t row_end, float *out);

/// Half-precision conversions (exact; f32 -> f16/bf16 round to nearest even).
float mk_f16_to_f32(uint16_t h);
float mk_bf16_to_f32(uint16_t h);
uint16_t mk_f32_to_f16(float f);
uint16_t mk_f32_to_bf16(float f);

/// Reads `bytes` bytes with wide loads on the pool's threads and returns a checksum (so the
/// reads cannot be optimised away): the memory-bandwidth probe of `moshi bench kernels`.
double mk_read_bandwidth_probe(mk_pool *pool, const void *data, int64_t bytes);
#endif
