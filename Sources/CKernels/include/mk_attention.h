#ifndef MOSHI_MK_ATTENTION_H
#define MOSHI_MK_ATTENTION_H
#include <stdint.h>
#include "mk_pool.h"

/// Storage of a KV cache's keys and values.
enum { MK_CACHE_F32 = 0, MK_CACHE_F16 = 1, MK_CACHE_BF16 = 2 };

/// One decoding step of multi-head attention over a KV cache laid out head-major:
/// head h, slot s starts at element (h * capacity + s) * head_dim of `keys` and of `values`.
/// The query attends to slots 0..<slots (the caller keeps the visible entries a prefix)
/// except the `skip_count` slots from `skip_start` on (wrapping at `capacity`): the steps a
/// multi-step call wrote after this query's own (Mimi's transformers run 2 steps a call):
/// out[h] = sum_s softmax_s(scale * q[h] . k[h, s]) v[h, s].
typedef struct {
    const float *q;          ///< [heads * head_dim]
    const void *keys;        ///< [heads, capacity, head_dim] in `format`
    const void *values;      ///< same layout
    float *out;              ///< [heads * head_dim]
    float *scores;           ///< scratch: [heads * capacity]
    int64_t heads;
    int64_t head_dim;
    int64_t capacity;
    int64_t slots;
    int64_t skip_start;      ///< first masked slot (with skip_count 0: none)
    int64_t skip_count;
    float scale;
    int32_t format;          ///< MK_CACHE_*
    int32_t path;            ///< MK_PATH_* (MK_PATH_BEST for the fastest)
} mk_attention;

/// Runs every head (split over `pool`, or on this thread when NULL). Allocates nothing.
void mk_attend(mk_pool *pool, const mk_attention *a);

/// Stores `n` floats into a cache row in `format` (f16/bf16: round to nearest even).
void mk_cache_store(void *dst, const float *src, int64_t n, int32_t format);
#endif
