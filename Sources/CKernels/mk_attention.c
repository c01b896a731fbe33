// One decoding step of multi-head attention over a head-major KV cache (mk_attention.h):
// scores, softmax and the weighted sum of values, one task per head. A scalar path for any
// head size and format, and an AVX2 + FMA + F16C path for head sizes that are multiples of 8
// (its softmax exponentials vectorised, mk_softmax_exp_f32).
#include <math.h>
#include "mk_internal.h"
#include "mk_attention.h"
#include "mk_half.h"
#include "mk_activation.h"
#if defined(__x86_64__)
#include "mk_avx2.h"
#endif

static inline float cache_at(const void *base, int32_t format, int64_t i) {
    switch (format) {
    case MK_CACHE_F16: return mk_half_to_float(mk_load_u16((const uint8_t *)base + 2 * i));
    case MK_CACHE_BF16: return mk_bfloat_to_float(mk_load_u16((const uint8_t *)base + 2 * i));
    default: return ((const float *)base)[i];
    }
}

/// Whether slot `s` is one of the masked (future) slots.
static inline int skipped(const mk_attention *a, int64_t s) {
    if (a->skip_count <= 0) return 0;
    int64_t d = s - a->skip_start;
    if (d < 0) d += a->capacity;
    return d < a->skip_count;
}

static void head_scalar(const mk_attention *a, int64_t h) {
    const int64_t hd = a->head_dim;
    const float *q = a->q + h * hd;
    float *sc = a->scores + h * a->capacity;
    float *out = a->out + h * hd;
    const int64_t first = h * a->capacity * hd;
    float m = -INFINITY;
    for (int64_t s = 0; s < a->slots; s++) {
        float dot = 0;
        for (int64_t i = 0; i < hd; i++) dot += q[i] * cache_at(a->keys, a->format, first + s * hd + i);
        sc[s] = skipped(a, s) ? -INFINITY : dot * a->scale;
        if (sc[s] > m) m = sc[s];
    }
    for (int64_t i = 0; i < hd; i++) out[i] = 0;
    if (a->slots == 0) return;
    float sum = 0;
    for (int64_t s = 0; s < a->slots; s++) {
        if (sc[s] == -INFINITY) continue;
        float w = expf(sc[s] - m);
        sum += w;
        for (int64_t i = 0; i < hd; i++) out[i] += w * cache_at(a->values, a->format, first + s * hd + i);
    }
    float inv = 1.0f / sum;
    for (int64_t i = 0; i < hd; i++) out[i] *= inv;
}

#if defined(__x86_64__)
MK_TI __m256 load8(const void *base, int32_t format, int64_t i) {
    switch (format) {
    case MK_CACHE_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint8_t *)base + 2 * i)));
    case MK_CACHE_BF16: {
        __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint8_t *)base + 2 * i)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    }
    default: return _mm256_loadu_ps((const float *)base + i);
    }
}

MK_T static void head_avx2(const mk_attention *a, int64_t h, int32_t format, int path) {
    const int64_t hd = a->head_dim;
    const float *q = a->q + h * hd;
    float *sc = a->scores + h * a->capacity;
    float *out = a->out + h * hd;
    const int64_t first = h * a->capacity * hd;
    float m = -INFINITY;
    for (int64_t s = 0; s < a->slots; s++) {
        const int64_t row = first + s * hd;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        int64_t i = 0;
        for (; i + 16 <= hd; i += 16) {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8(a->keys, format, row + i), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), load8(a->keys, format, row + i + 8), acc1);
        }
        for (; i < hd; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8(a->keys, format, row + i), acc0);
        float v = skipped(a, s) ? -INFINITY : mk_hsum(_mm256_add_ps(acc0, acc1)) * a->scale;
        sc[s] = v;
        if (v > m) m = v;
    }
    for (int64_t i = 0; i < hd; i++) out[i] = 0;
    if (a->slots == 0) return;
    // The weights e^(score - max) for all slots at once (masked slots give 0), then summed and
    // applied in slot order.
    mk_softmax_exp_f32(sc, a->slots, m, path);
    float sum = 0;
    for (int64_t s = 0; s < a->slots; s++) {
        const float w = sc[s];
        if (w == 0) continue;
        sum += w;
        const __m256 wv = _mm256_set1_ps(w);
        const int64_t row = first + s * hd;
        for (int64_t i = 0; i < hd; i += 8)
            _mm256_storeu_ps(out + i, _mm256_fmadd_ps(wv, load8(a->values, format, row + i), _mm256_loadu_ps(out + i)));
    }
    const __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (int64_t i = 0; i < hd; i += 8) _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(out + i), inv));
}
#endif

static void attend_task(void *raw, int64_t task, int thread) {
    (void)thread;
    const mk_attention *a = (const mk_attention *)raw;
#if defined(__x86_64__)
    int path = a->path == MK_PATH_BEST ? mk_best_path() : a->path;
    if ((path == MK_PATH_AVX2 || path == MK_PATH_AVX512) && mk_path_available(path) && a->head_dim % 8 == 0) {
        head_avx2(a, task, a->format, path);
        return;
    }
#endif
    head_scalar(a, task);
}

void mk_attend(mk_pool *pool, const mk_attention *a) {
    if (a->heads <= 0) return;
    if (pool && a->heads > 1 && a->slots * a->head_dim >= 4096) {
        mk_pool_run(pool, attend_task, (void *)a, a->heads);
    } else {
        for (int64_t h = 0; h < a->heads; h++) attend_task((void *)a, h, 0);
    }
}

void mk_cache_store(void *dst, const float *src, int64_t n, int32_t format) {
    switch (format) {
    case MK_CACHE_F16:
        for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = mk_f32_to_f16(src[i]);
        break;
    case MK_CACHE_BF16:
        for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = mk_f32_to_bf16(src[i]);
        break;
    default:
        memcpy(dst, src, (size_t)n * 4);
    }
}
