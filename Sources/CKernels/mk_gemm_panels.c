// Many-row f32 products against a weight packed in panels of 16 outputs (mk_gemm_panels.h).
// A block of up to 8 rows of A meets one or two panels (16 or 32 outputs) at a time: per step
// c of the inner dimension, the panels' 16-float row c is loaded once and multiplied with each
// row's A[r][c] (broadcast), into 8 x 2 accumulators that stay in registers for the whole sum.
// Every output is one in-order sum over c (fused multiply-adds on AVX-512), so the split of the
// rows over threads does not change any result.
#include "mk_gemm_panels.h"
#include "mk_matvec.h"
#include "mk_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

int64_t mk_packed_panels_floats(int64_t n, int64_t k) { return (n + 15) / 16 * 16 * k; }

void mk_pack_panels_f32(const float *w, int64_t n, int64_t k, int64_t ldw, float *packed) {
    const int64_t panels = (n + 15) / 16;
    for (int64_t p = 0; p < panels; p++)
        for (int64_t c = 0; c < k; c++)
            for (int64_t j = 0; j < 16; j++) {
                const int64_t row = 16 * p + j;
                packed[(p * k + c) * 16 + j] = row < n ? w[row * ldw + c] : 0.0f;
            }
}

/// Rows [r0, r1) of the product, on this thread, without SIMD.
static void rows_scalar(const mk_gemm_panels_args *g, int64_t r0, int64_t r1) {
    const int64_t k = g->k;
    for (int64_t r = r0; r < r1; r++) {
        const float *a = g->a + r * g->lda;
        for (int64_t o = 0; o < g->n; o++) {
            const float *panel = g->packed + (o / 16) * k * 16 + (o % 16);
            float s = 0;
            for (int64_t c = 0; c < k; c++) s += a[c] * panel[c * 16];
            float *y = g->y + r * g->ldy + o;
            *y = g->accumulate ? *y + s : s;
        }
    }
}

#if defined(__x86_64__)
#define TP __attribute__((target("avx2,fma,f16c,avx512f")))
#define TPI __attribute__((target("avx2,fma,f16c,avx512f"), always_inline)) static inline

/// `nr` rows (1..8) from row r against panels p (and p + 1 when `two`), outputs masked by m0, m1.
TPI void block(const mk_gemm_panels_args *g, int64_t r, int nr, int64_t p, int two, __mmask16 m0, __mmask16 m1) {
    const int64_t k = g->k, lda = g->lda;
    const float *b0 = g->packed + p * k * 16, *b1 = b0 + k * 16;
    const float *a = g->a + r * lda;
    __m512 c0[8], c1[8];
    for (int i = 0; i < 8; i++) c0[i] = c1[i] = _mm512_setzero_ps();
    for (int64_t c = 0; c < k; c++) {
        const __m512 w0 = _mm512_loadu_ps(b0 + c * 16);
        const __m512 w1 = two ? _mm512_loadu_ps(b1 + c * 16) : w0;
        for (int i = 0; i < nr; i++) {
            const __m512 x = _mm512_set1_ps(a[i * lda + c]);
            c0[i] = _mm512_fmadd_ps(x, w0, c0[i]);
            if (two) c1[i] = _mm512_fmadd_ps(x, w1, c1[i]);
        }
    }
    for (int i = 0; i < nr; i++) {
        float *y = g->y + (r + i) * g->ldy + p * 16;
        if (g->accumulate) {
            c0[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, y), c0[i]);
            if (two) c1[i] = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, y + 16), c1[i]);
        }
        _mm512_mask_storeu_ps(y, m0, c0[i]);
        if (two) _mm512_mask_storeu_ps(y + 16, m1, c1[i]);
    }
}

TPI __mmask16 lanes(int64_t n, int64_t first) {
    const int64_t left = n - first;
    return left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? 0 : (__mmask16)((1u << left) - 1u);
}

/// Rows r..r+nr (`nr` a constant at each call site, so every case compiles with its registers)
/// against panels [p0, p1), two at a time.
TPI void block_rows(const mk_gemm_panels_args *g, int64_t r, int nr, int64_t p0, int64_t p1) {
    int64_t p = p0;
    for (; p + 2 <= p1; p += 2) block(g, r, nr, p, 1, lanes(g->n, p * 16), lanes(g->n, p * 16 + 16));
    if (p < p1) block(g, r, nr, p, 0, lanes(g->n, p * 16), 0);
}

TPI void rows_block(const mk_gemm_panels_args *g, int64_t r, int64_t nr, int64_t p0, int64_t p1) {
    switch (nr) {
    case 8: block_rows(g, r, 8, p0, p1); break;
    case 7: block_rows(g, r, 7, p0, p1); break;
    case 6: block_rows(g, r, 6, p0, p1); break;
    case 5: block_rows(g, r, 5, p0, p1); break;
    case 4: block_rows(g, r, 4, p0, p1); break;
    case 3: block_rows(g, r, 3, p0, p1); break;
    case 2: block_rows(g, r, 2, p0, p1); break;
    case 1: block_rows(g, r, 1, p0, p1); break;
    default: break;
    }
}

/// Rows [r0, r1) x panels [p0, p1). When the rows' part of A fits in L2 next to a pair of
/// panels, the panels are the outer loop (each pair is read from memory once and meets every
/// row block while it is in cache: the few-row, many-weight convolutions); otherwise the rows
/// are (each 8-row block of A meets every panel while it is in L1).
TP static void rows_avx512(const mk_gemm_panels_args *g, int64_t r0, int64_t r1, int64_t p0, int64_t p1) {
    const int64_t a_bytes = (r1 - r0) * g->lda * 4;
    if (a_bytes <= (256 << 10) && p1 - p0 > 2) {
        for (int64_t p = p0; p < p1; p += 2) {
            const int64_t pe = p + 2 < p1 ? p + 2 : p1;
            for (int64_t r = r0; r < r1; r += 8) rows_block(g, r, r1 - r < 8 ? r1 - r : 8, p, pe);
        }
        return;
    }
    for (int64_t r = r0; r < r1; r += 8) rows_block(g, r, r1 - r < 8 ? r1 - r : 8, p0, p1);
}
#endif

int mk_gemm_panels_fast(int path) {
    if (path == MK_PATH_BEST) path = mk_best_path();
#if defined(__x86_64__)
    return path == MK_PATH_AVX512 && mk_path_available(MK_PATH_AVX512);
#else
    (void)path;
    return 0;
#endif
}

typedef struct {
    const mk_gemm_panels_args *args;
    int64_t chunk;        ///< rows a task (a multiple of 8), or panels a task (an even count)
    int by_panels;        ///< tasks split the panels (every task takes all rows) instead of the rows
    int fast;
} panels_job;

static void range(const mk_gemm_panels_args *g, int fast, int64_t r0, int64_t r1, int64_t p0, int64_t p1) {
#if defined(__x86_64__)
    if (fast) { rows_avx512(g, r0, r1, p0, p1); return; }
#endif
    (void)fast; (void)p0; (void)p1;
    rows_scalar(g, r0, r1);
}

static void panels_task(void *raw, int64_t task, int thread) {
    (void)thread;
    const panels_job *job = raw;
    const mk_gemm_panels_args *g = job->args;
    const int64_t panels = (g->n + 15) / 16;
    if (job->by_panels) {
        const int64_t p0 = task * job->chunk;
        const int64_t p1 = p0 + job->chunk < panels ? p0 + job->chunk : panels;
        range(g, job->fast, 0, g->m, p0, p1);
    } else {
        const int64_t r0 = task * job->chunk;
        const int64_t r1 = r0 + job->chunk < g->m ? r0 + job->chunk : g->m;
        range(g, job->fast, r0, r1, 0, panels);
    }
}

void mk_gemm_panels_f32(mk_pool *pool, const mk_gemm_panels_args *args) {
    if (args->m <= 0 || args->n <= 0) return;
    const int fast = mk_gemm_panels_fast(args->path);
    const int threads = mk_pool_threads(pool);
    const int64_t blocks = (args->m + 7) / 8;
    const int64_t panels = (args->n + 15) / 16;
    const int64_t pairs = (panels + 1) / 2;
    if (threads <= 1 || args->m * args->n * args->k < (1 << 16)) { range(args, fast, 0, args->m, 0, panels); return; }
    // Two tasks a thread (a preempted worker costs half as much). Whole 8-row blocks each while
    // there are enough of them; with fewer rows than that (the deep convolutions of a batch of
    // streams), whole pairs of panels each, so each thread reads only its share of the weight.
    // Every output is one in-order sum either way, so the split changes no result.
    int64_t tasks = (int64_t)threads * 2;
    panels_job job = { args, 0, 0, fast };
    if (blocks >= tasks || (blocks >= threads && pairs < tasks) || !fast) {
        if (tasks > blocks) tasks = blocks;
        job.chunk = (blocks + tasks - 1) / tasks * 8;
        mk_pool_run(pool, panels_task, &job, (args->m + job.chunk - 1) / job.chunk);
    } else {
        if (tasks > pairs) tasks = pairs;
        job.by_panels = 1;
        job.chunk = (pairs + tasks - 1) / tasks * 2;
        mk_pool_run(pool, panels_task, &job, (panels + job.chunk - 1) / job.chunk);
    }
}
