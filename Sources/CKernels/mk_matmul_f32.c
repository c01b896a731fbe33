// Multi-row f32 products Y = A·Wᵀ reading W once: the walk over W's rows, the scalar
// reference dot products, the path dispatch and the split over the thread pool.
//
// The walk: a piece of W's rows [j0, j1) is cut into four contiguous quarters and row i of
// every quarter is processed together, so W streams in as four long sequential runs at once
// (the hardware prefetcher keeps four streams in flight: on Zen 3/4 about 20 GB/s on one core,
// against about 12 for one run, row after row). Each group of four rows is multiplied with
// every row of A, two at a time, while it is in L1/L2.
#include "mk_matmul_f32.h"

/// s0[i] = w[i]·a0 and, when a1 is not NULL, s1[i] = w[i]·a1, over k floats; in order.
static void dot4_scalar(const float *const w[4], const float *a0, const float *a1, int64_t k, float s0[4], float s1[4]) {
    for (int i = 0; i < 4; i++) {
        float p = 0, q = 0;
        for (int64_t c = 0; c < k; c++) {
            p += w[i][c] * a0[c];
            if (a1) q += w[i][c] * a1[c];
        }
        s0[i] = p;
        if (a1) s1[i] = q;
    }
}

static mk_dot4_fn dot4_for(int path) {
    if (path == MK_PATH_BEST) path = mk_best_path();
    if (!mk_path_available(path)) return dot4_scalar;
#if defined(__x86_64__)
    if (path == MK_PATH_AVX512) return mk_dot4_f32_avx512;
    if (path == MK_PATH_AVX2) return mk_dot4_f32_avx2;
#endif
    return dot4_scalar;
}

/// The four-row variant of `path`'s dot products, or NULL where it has none.
static mk_dot4x4_fn dot4x4_for(int path) {
    if (path == MK_PATH_BEST) path = mk_best_path();
    if (!mk_path_available(path)) return 0;
#if defined(__x86_64__)
    if (path == MK_PATH_AVX512) return mk_dot4x4_f32_avx512;
#endif
    return 0;
}

static inline void put(float *y, float v, int accumulate) { if (accumulate) *y += v; else *y = v; }

static void columns(const mk_matmul_f32_args *p, mk_dot4_fn dot4, int64_t j0, int64_t j1) {
    if (j0 >= j1) return;
    // Four rows of A at a time where the path has it (a batch of streams: each weight vector
    // loaded once for four rows), then two at a time; every output is the same sum either way.
    const mk_dot4x4_fn dot4x4 = p->m >= 4 ? dot4x4_for(p->path) : 0;
    const int64_t q = (j1 - j0) / 4;
    for (int64_t i = 0; i < q; i++) {
        int64_t j[4] = { j0 + i, j0 + q + i, j0 + 2 * q + i, j0 + 3 * q + i };
        const float *w[4] = { p->w + j[0] * p->ldw, p->w + j[1] * p->ldw, p->w + j[2] * p->ldw, p->w + j[3] * p->ldw };
        int64_t r = 0;
        if (dot4x4) {
            for (; r + 4 <= p->m; r += 4) {
                const float *a[4] = { p->a + r * p->lda, p->a + (r + 1) * p->lda, p->a + (r + 2) * p->lda, p->a + (r + 3) * p->lda };
                float s[4][4];
                dot4x4(w, a, p->k, s);
                for (int t = 0; t < 4; t++) {
                    float *y = p->y + (r + t) * p->ldy;
                    for (int c = 0; c < 4; c++) put(y + j[c], s[t][c], p->accumulate);
                }
            }
        }
        for (; r < p->m; r += 2) {
            const float *a0 = p->a + r * p->lda;
            const float *a1 = r + 1 < p->m ? a0 + p->lda : 0;
            float s0[4], s1[4];
            dot4(w, a0, a1, p->k, s0, s1);
            float *y0 = p->y + r * p->ldy;
            for (int c = 0; c < 4; c++) put(y0 + j[c], s0[c], p->accumulate);
            if (a1) for (int c = 0; c < 4; c++) put(y0 + p->ldy + j[c], s1[c], p->accumulate);
        }
    }
    // The last (j1 - j0) % 4 rows: groups of four with the same row repeated (results of the
    // repeats are dropped), so every row goes through the same dot product.
    for (int64_t jj = j0 + 4 * q; jj < j1; jj++) {
        const float *row = p->w + jj * p->ldw;
        const float *w[4] = { row, row, row, row };
        for (int64_t r = 0; r < p->m; r += 2) {
            const float *a0 = p->a + r * p->lda;
            const float *a1 = r + 1 < p->m ? a0 + p->lda : 0;
            float s0[4], s1[4];
            dot4(w, a0, a1, p->k, s0, s1);
            float *y0 = p->y + r * p->ldy;
            put(y0 + jj, s0[0], p->accumulate);
            if (a1) put(y0 + p->ldy + jj, s1[0], p->accumulate);
        }
    }
}

void mk_matmul_f32_columns(const mk_matmul_f32_args *args, int64_t j0, int64_t j1) {
    if (j0 < 0) j0 = 0;
    if (j1 > args->n) j1 = args->n;
    if (args->m <= 0) return;
    columns(args, dot4_for(args->path), j0, j1);
}

typedef struct {
    const mk_matmul_f32_args *args;
    mk_dot4_fn dot4;
    int64_t chunk;
} matmul_job;

static void matmul_task(void *raw, int64_t task, int thread) {
    (void)thread;
    const matmul_job *job = raw;
    int64_t j0 = task * job->chunk, j1 = j0 + job->chunk;
    if (j1 > job->args->n) j1 = job->args->n;
    columns(job->args, job->dot4, j0, j1);
}

void mk_matmul_f32(mk_pool *pool, const mk_matmul_f32_args *args) {
    if (args->m <= 0 || args->n <= 0) return;
    int threads = mk_pool_threads(pool);
    int64_t bytes = args->n * args->k * 4;
    matmul_job job = { args, dot4_for(args->path), args->n };
    // Not worth waking the workers for less than 64 KiB of weights.
    if (threads > 1 && bytes >= (64 << 10) && args->n >= 32) {
        int64_t tasks = (int64_t)threads * 2;
        int64_t chunk = (args->n + tasks - 1) / tasks;
        job.chunk = (chunk + 15) & ~(int64_t)15;
    }
    int64_t tasks = (args->n + job.chunk - 1) / job.chunk;
    if (tasks <= 1) { columns(args, job.dot4, 0, args->n); return; }
    mk_pool_run(pool, matmul_task, &job, tasks);
}
