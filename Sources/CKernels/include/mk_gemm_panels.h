// Many-row f32 products Y = A·Wᵀ with W packed once into panels of 16 outputs, for the
// convolutions of Mimi's SEANet (hundreds to thousands of time steps against a small weight):
// the weight is laid out at load time as the kernel reads it, so no call packs anything
// (OpenBLAS sgemm re-packs both operands on every call, about 40 % of its time on these shapes).
#ifndef MOSHI_MK_GEMM_PANELS_H
#define MOSHI_MK_GEMM_PANELS_H
#include <stdint.h>
#include "mk_pool.h"

/// Floats `mk_pack_panels_f32` writes for a [n][k] weight: ceil(n / 16) * 16 * k.
int64_t mk_packed_panels_floats(int64_t n, int64_t k);

/// Packs W ([n][k], rows `ldw` apart) into panels: panel p, step c holds W[16p + j][c] for
/// j = 0..15 at packed[(p * k + c) * 16 + j] (zero past n).
void mk_pack_panels_f32(const float *w, int64_t n, int64_t k, int64_t ldw, float *packed);

/// One product Y[m][n] = A[m][k] · W[n][k]ᵀ (+ Y when `accumulate`), W packed.
typedef struct {
    const float *a;          ///< rows `lda` apart (they may overlap: convolution windows)
    const float *packed;     ///< mk_pack_panels_f32 of W
    float *y;                ///< rows `ldy` apart
    int64_t m, n, k;
    int64_t lda, ldy;
    int32_t accumulate;
    int32_t path;            ///< MK_PATH_* (MK_PATH_BEST for the fastest this CPU runs)
} mk_gemm_panels_args;

/// Whether `path` has a panel kernel of its own (AVX-512); elsewhere the product runs the
/// scalar loops, and callers with a BLAS should prefer it.
int mk_gemm_panels_fast(int path);

/// Runs the product with A's rows split over `pool` (NULL: this thread) in blocks of 8 rows.
/// Each output is one sum over k in order, whatever the split. Allocates nothing.
void mk_gemm_panels_f32(mk_pool *pool, const mk_gemm_panels_args *args);
#endif
