// Matrix-vector products y = W·x for every weight format (see Numerics' Matvec).
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
/// Which implementation runs. BEST is chosen once from mk_cpu_features() (and capped by the
/// environment variable MOSHI_KERNEL_PATH=scalar|avx2|avx512|neon, to run a lower path); a path
/// this CPU or build lacks falls back to SCALAR. AVX512 is AVX-512 F/BW/VL with VNNI (vpdpbusd)
/// for the int8 products; it also needs AVX2 + FMA + F16C.
enum { MK_PATH_SCALAR = 0, MK_PATH_AVX2 = 1, MK_PATH_NEON = 2, MK_PATH_AVX512 = 3, MK_PATH_BEST = 99 };
/// How activations are treated: EXACT multiplies f32 x by exactly the dequantized weights (to f32
/// rounding; the AVX-512 MLX 4-bit kernel holds x to 2^-24 of the largest |x| of each 8 columns);
/// INT8 quantizes x per 32-block to int8 (scale max|x|/127, round to nearest, ties to even) and
/// takes integer dot products (Q8_0, Q4_0, MLX 4/8-bit; other formats stay exact): the result is
/// the dequantized W times the dequantized int8 x (MLX: scale * sum(q xq) * xd + bias * sum(x̂)).
enum { MK_PRECISION_EXACT = 0, MK_PRECISION_INT8 = 1 };

/// A row-major weight matrix [rows, cols] viewing memory owned elsewhere (need not be aligned).
typedef struct {
    const void *data;
    const void *scales;     // MLX only: [rows, cols / group_size]
    const void *biases;     // MLX only
    int64_t rows;
    int64_t cols;
    int32_t format;
    int32_t group_size;     // MLX only: 32, 64 or 128
    int32_t scale_type;     // MLX only
    int32_t reserved;
} mk_matrix;

/// Options of one product; NULL means exact, best path, no bias, overwrite y.
typedef struct {
    int32_t precision;      // MK_PRECISION_*
    int32_t path;           // MK_PATH_*
    const float *bias;      // NULL, or `rows` floats added to y
    int32_t accumulate;     // nonzero: y += W·x (+ bias) instead of y = W·x (+ bias)
    int32_t reserved;
} mk_matvec_options;

/// Scratch for one product: what is computed once from x and read by every row. A caller
/// allocates `mk_scratch_floats(cols)` floats once, 64-byte aligned, and passes them in.
typedef float mk_scratch;

/// Floats of scratch a product with `cols` columns needs (per vector, for batches).
int64_t mk_scratch_floats(int64_t cols);

/// Checks a matrix's geometry; returns 0 if the kernels can run it, else a negative code:
/// -1 format unknown, -2 cols not a multiple of the block/group (or negative sizes),
/// -3 MLX group size or scale type unsupported, or scales/biases missing.
int mk_matrix_check(const mk_matrix *w);

/// The path MK_PATH_BEST resolves to on this CPU.
int mk_best_path(void);
/// Whether this CPU and build can run `path` (whatever MOSHI_KERNEL_PATH says): 1 or 0.
int mk_path_available(int path);
/// Whether a format has an int8-activation path.
int mk_format_has_i8(int32_t format);

/// y = W·x split over a pool (NULL: this thread) in chunks of 16-row multiples. Prepares the
/// scratch from x, then runs the rows. Allocates nothing.
void mk_matvec(mk_pool *pool, const mk_matrix *w, const float *x, float *y, mk_scratch *scratch,
               const mk_matvec_options *options);

/// Y[n][rows] = X[n][cols] · Wᵀ: n vectors against W in one pass over W (each slice of rows
/// is read from memory once and used for every vector). `scratch` holds n scratch areas.
void mk_matvec_batch(mk_pool *pool, const mk_matrix *w, const float *x, int64_t n, float *y, mk_scratch *scratch,
                     const mk_matvec_options *options);

/// The two halves of mk_matvec, for callers that split rows themselves: `prepare` once per x,
/// then `rows` for any disjoint row ranges, from any threads.
void mk_matvec_prepare(const mk_matrix *w, const float *x, mk_scratch *scratch, int32_t precision);
void mk_matvec_rows(const mk_matrix *w, const float *x, const mk_scratch *scratch, float *y,
                    int64_t row_begin, int64_t row_end, const mk_matvec_options *options);

/// Quantizes `blocks` 32-blocks of x to int8 as the INT8 precision does: xd[b] = max|x| / 127,
/// xq = x / xd rounded to nearest (ties to even) and clamped to ±127, qsum[b] = the block's sum
/// of xq. Every path gives the same bits (exposed for tests).
void mk_quantize_activations(const float *x, int64_t blocks, int8_t *xq, float *xd, int32_t *qsum, int path);

/// Dequantizes rows [row_begin, row_end) of `w` to f32 (row-major, `cols` floats per row):
/// the reference values every exact product uses (MLX: scale * q + bias rounded once each).
void mk_dequantize_rows(const mk_matrix *w, int64_t row_begin, int64_t row_end, float *out);
#endif
