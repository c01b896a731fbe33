// Multi-row f32 products Y = A·Wᵀ that read W once, for the few-row products of streaming
// models (Mimi's transformers and deep convolutions: 1 to 4 time steps against a Linear weight).
#ifndef MOSHI_MK_MATMUL_H
#define MOSHI_MK_MATMUL_H
#include <stdint.h>
#include "mk_pool.h"

/// One product Y[m][n] = A[m][k] · W[n][k]ᵀ (+ Y when `accumulate`), all f32, rows of A `lda`
/// floats apart, rows of W `ldw` apart, rows of Y `ldy` apart. Every row of W is read from
/// memory once and multiplied with all m rows of A while it is in cache.
typedef struct {
    const float *a;
    const float *w;
    float *y;
    int64_t m, n, k;
    int64_t lda, ldw, ldy;
    int32_t accumulate;
    int32_t path;            ///< MK_PATH_* (MK_PATH_BEST for the fastest this CPU runs)
} mk_matmul_f32_args;

/// Runs the product with W's rows (the n outputs) split over `pool` (NULL: this thread), in
/// pieces of whole 4-row groups; small products run on the calling thread. Allocates nothing.
void mk_matmul_f32(mk_pool *pool, const mk_matmul_f32_args *args);

/// Outputs [j0, j1) of the product on this thread (for callers that split the work themselves).
void mk_matmul_f32_columns(const mk_matmul_f32_args *args, int64_t j0, int64_t j1);
#endif
