// Matrix-vector products: geometry checks, the per-call preparation of x, the kernel table
// chosen once from the CPU's features, and the split of rows over the thread pool.
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "mk_internal.h"
#include "mk_cpu.h"

int64_t mk_scratch_floats(int64_t cols) {
    if (cols < 0) cols = 0;
    int64_t nbp = mk_blocks_padded(cols), cp = mk_cols_padded(cols);
    // see mk_scratch_split: xsum, xd, qsum, kvec (11 nbp), xp (cp), xq + xqp (cp / 2), then xlimbs:
    // 512 bytes (128 floats) per 128 columns.
    return 11 * nbp + cp + cp / 2 + 128 * ((cols + 127) / 128) + 16;
}

int mk_format_has_i8(int32_t format) {
    return format == MK_FORMAT_Q8_0 || format == MK_FORMAT_Q4_0 || format == MK_FORMAT_MLX4 || format == MK_FORMAT_MLX8;
}

int mk_matrix_check(const mk_matrix *w) {
    if (w->rows < 0 || w->cols < 0) return -2;
    switch (w->format) {
    case MK_FORMAT_F32: case MK_FORMAT_BF16: case MK_FORMAT_F16: return 0;
    case MK_FORMAT_Q8_0: case MK_FORMAT_Q4_0: return w->cols % MK_BLOCK == 0 ? 0 : -2;
    case MK_FORMAT_MLX4: case MK_FORMAT_MLX8:
        if (w->group_size != 32 && w->group_size != 64 && w->group_size != 128) return -3;
        if (w->scale_type < MK_SCALE_F32 || w->scale_type > MK_SCALE_BF16) return -3;
        if (!w->scales || !w->biases) return -3;
        return w->cols % w->group_size == 0 ? 0 : -2;
    default: return -1;
    }
}

// ---- the kernel table ----------------------------------------------------------------------

static const mk_kernel_table scalar_table = { mk_rows_scalar, mk_rows_i8_scalar, mk_quantize_scalar };
#if defined(__x86_64__)
static const mk_kernel_table avx2_table = { mk_rows_avx2, mk_rows_i8_avx2, mk_quantize_avx2 };
static const mk_kernel_table avx512_table = { mk_rows_avx512, mk_rows_i8_avx512, mk_quantize_avx2 };
#endif
#if defined(__aarch64__)
static const mk_kernel_table neon_table = { mk_rows_neon, mk_rows_i8_neon, mk_quantize_scalar };
#endif

static int best_path = MK_PATH_SCALAR;
static pthread_once_t best_once = PTHREAD_ONCE_INIT;
static int cpu_features;                     // read once (cpuid traps in some virtual machines)
static pthread_once_t features_once = PTHREAD_ONCE_INIT;

static void read_features(void) { cpu_features = mk_cpu_features(); }

int mk_path_available(int path) {
    pthread_once(&features_once, read_features);
    int f = cpu_features;
    (void)f;
    switch (path) {
    case MK_PATH_SCALAR: return 1;
#if defined(__x86_64__)
    case MK_PATH_AVX2: return (f & MK_CPU_AVX2_FMA) && (f & MK_CPU_F16C);
    case MK_PATH_AVX512: {
        const int need = MK_CPU_AVX2_FMA | MK_CPU_F16C | MK_CPU_AVX512F | MK_CPU_AVX512BW | MK_CPU_AVX512VL | MK_CPU_AVX512VNNI;
        return (f & need) == need;
    }
#endif
#if defined(__aarch64__)
    case MK_PATH_NEON: return 1;
#endif
    default: return 0;
    }
}

/// The highest path this CPU runs, capped by MOSHI_KERNEL_PATH when it names a lower one.
static void choose_best_path(void) {
    static const int order[] = { MK_PATH_AVX512, MK_PATH_AVX2, MK_PATH_NEON };
    int cap = -1;
    const char *env = getenv("MOSHI_KERNEL_PATH");
    if (env) {
        if (!strcmp(env, "scalar")) cap = MK_PATH_SCALAR;
        else if (!strcmp(env, "avx2")) cap = MK_PATH_AVX2;
        else if (!strcmp(env, "avx512")) cap = MK_PATH_AVX512;
        else if (!strcmp(env, "neon")) cap = MK_PATH_NEON;
    }
    best_path = MK_PATH_SCALAR;
    if (cap == MK_PATH_SCALAR) return;
    for (unsigned i = 0; i < sizeof order / sizeof order[0]; i++) {
        int p = order[i];
        if (cap == MK_PATH_AVX2 && p == MK_PATH_AVX512) continue;
        if (mk_path_available(p)) { best_path = p; return; }
    }
}

int mk_best_path(void) {
    pthread_once(&best_once, choose_best_path);
    return best_path;
}

static const mk_kernel_table *table_for(int path) {
    if (path == MK_PATH_BEST) path = mk_best_path();
    if (!mk_path_available(path)) return &scalar_table;
#if defined(__x86_64__)
    if (path == MK_PATH_AVX512) return &avx512_table;
    if (path == MK_PATH_AVX2) return &avx2_table;
#endif
#if defined(__aarch64__)
    if (path == MK_PATH_NEON) return &neon_table;
#endif
    return &scalar_table;
}

// ---- preparation of x ------------------------------------------------------------------------

/// Whether rows on `path` (-1: any path) read x's int8 limbs: the AVX-512 4-bit kernels
/// (mk_matvec_limbs_avx512.c).
static int reads_limbs(int path) {
#if defined(__x86_64__)
    return path < 0 ? mk_path_available(MK_PATH_AVX512) : table_for(path) == &avx512_table;
#else
    (void)path;
    return 0;
#endif
}

/// MLX exact path: the f32 sum of x over each group (summed in double, four partial sums per
/// group so the additions do not wait on each other), for bias * sum(x).
static void prepare_group_sums(const mk_matrix *w, const float *x, mk_scratch_view sv) {
    const int64_t groups = w->cols / w->group_size, gs = w->group_size;
    for (int64_t g = 0; g < groups; g++) {
        const float *xg = x + g * gs;
        double s[4] = { 0.0, 0.0, 0.0, 0.0 };
        for (int64_t j = 0; j < gs; j += 4)
            for (int k = 0; k < 4; k++) s[k] += xg[j + k];
        sv.xsum[g] = (float)((s[0] + s[1]) + (s[2] + s[3]));
    }
}

/// MLX int8 path: the sum of the quantized x (xd * qsum per block) over each group, so the
/// product is exactly W times the dequantized int8 x (with the exact sum of x instead, the
/// bias term would not cancel against scale * q the way the weights do, and the error grows
/// where biases are large, as MLX's centred biases are).
static void prepare_group_sums_int8(const mk_matrix *w, mk_scratch_view sv) {
    int64_t groups = w->cols / w->group_size, per_group = w->group_size / MK_BLOCK;
    for (int64_t g = 0; g < groups; g++) {
        double s = 0.0;
        for (int64_t k = 0; k < per_group; k++) s += (double)sv.xd[g * per_group + k] * (double)sv.qsum[g * per_group + k];
        sv.xsum[g] = (float)s;
    }
}

/// The 4-bit formats prepare x's limbs where `limbs` (the AVX-512 kernels read them) and what the
/// other kernels read where `others`: only what the path that runs the rows reads.
static void prepare_exact(const mk_matrix *w, const float *x, mk_scratch_view sv, int limbs, int others) {
    (void)limbs;                 // read on x86-64 only
    switch (w->format) {
    case MK_FORMAT_Q4_0: {
#if defined(__x86_64__)
        if (limbs) mk_prepare_q4_0_limbs(x, w->cols, sv.xlimbs);
#endif
        if (others) {
            // The -8 of every nibble, as a vector that starts each block's lane sums.
            float *m8 = sv.kvec;
            for (int64_t b = 0; b < w->cols / MK_BLOCK; b++) {
                const float *xb = x + b * MK_BLOCK;
                for (int l = 0; l < 8; l++) m8[8 * b + l] = -8.0f * (xb[l] + xb[l + 8] + xb[l + 16] + xb[l + 24]);
            }
        }
        break;
    }
    case MK_FORMAT_MLX4: {
#if defined(__x86_64__)
        if (limbs) mk_prepare_int8_limbs(x, w->cols, sv.xlimbs);
#endif
        if (others) {
            // A byte holds elements 2k (low nibble) and 2k+1 (high): x reordered to match, per 32
            // values (16 bytes): evens, then odds.
            for (int64_t c = 0; c < w->cols; c += 32) {
                for (int k = 0; k < 16; k++) {
                    sv.xp[c + k] = x[c + 2 * k];
                    sv.xp[c + 16 + k] = x[c + 2 * k + 1];
                }
            }
        }
        prepare_group_sums(w, x, sv);
        break;
    }
    case MK_FORMAT_MLX8:
        prepare_group_sums(w, x, sv);
        break;
    default:
        break;
    }
}

/// `limbs` and `others` as for prepare_exact (they matter to the 4-bit formats only).
static void prepare_int8(const mk_matrix *w, const float *x, mk_scratch_view sv, int path, int limbs, int others) {
    (void)limbs;
    int64_t nb = w->cols / MK_BLOCK;
    table_for(path < 0 ? MK_PATH_BEST : path)->quantize(x, nb, sv.xq, sv.xd, sv.qsum);
#if defined(__x86_64__)
    // The AVX-512 4-bit kernels read xq as one limb in their layout (mk_matvec_limbs_avx512.c).
    if ((w->format == MK_FORMAT_MLX4 || w->format == MK_FORMAT_Q4_0) && limbs) mk_prepare_int8_limb1(sv.xq, sv.xd, w->cols, w->format == MK_FORMAT_Q4_0, sv.xlimbs);
#endif
    // Lane corrections for the AVX2 and AVX-512 kernels (lane l covers bytes 4l..4l+3 of a block):
    // Q4_0 multiplies the raw nibbles q, so subtracts 8 * xq; AVX2 MLX8 multiplies q - 128, so
    // adds 128 * xq; AVX-512 Q8_0 multiplies q + 128 as unsigned bytes (vpdpbusd), so subtracts 128 * xq.
    if ((w->format == MK_FORMAT_Q4_0 && others) || w->format == MK_FORMAT_MLX8 || w->format == MK_FORMAT_Q8_0) {
        int32_t factor = w->format == MK_FORMAT_Q4_0 ? -8 : w->format == MK_FORMAT_MLX8 ? 128 : -128;
        int32_t *k = sv.kvec;
        for (int64_t b = 0; b < nb; b++) {
            const int8_t *qb = sv.xq + b * MK_BLOCK;
            for (int l = 0; l < 8; l++) k[8 * b + l] = factor * (qb[4 * l] + qb[4 * l + 1] + qb[4 * l + 2] + qb[4 * l + 3]);
        }
    }
    if (w->format == MK_FORMAT_MLX4 && others) {
        // 16 bytes hold elements 2k (low nibbles) and 2k+1 (high): evens first, then odds.
        for (int64_t b = 0; b < nb; b++) {
            const int8_t *qb = sv.xq + b * MK_BLOCK;
            for (int k = 0; k < 16; k++) {
                sv.xqp[b * MK_BLOCK + k] = qb[2 * k];
                sv.xqp[b * MK_BLOCK + 16 + k] = qb[2 * k + 1];
            }
        }
    }
    if (w->format == MK_FORMAT_MLX4 || w->format == MK_FORMAT_MLX8) prepare_group_sums_int8(w, sv);
}

/// `path` < 0: for rows on any path (mk_matvec_prepare).
static void prepare(const mk_matrix *w, const float *x, mk_scratch *scratch, int32_t precision, int path) {
    mk_scratch_view sv = mk_scratch_split(scratch, w->cols);
    const int limbs = reads_limbs(path), others = path < 0 || !limbs;
    if (precision == MK_PRECISION_INT8 && mk_format_has_i8(w->format)) prepare_int8(w, x, sv, path, limbs, others);
    else prepare_exact(w, x, sv, limbs, others);
}

void mk_quantize_activations(const float *x, int64_t blocks, int8_t *xq, float *xd, int32_t *qsum, int path) {
    table_for(path)->quantize(x, blocks, xq, xd, qsum);
}

void mk_matvec_prepare(const mk_matrix *w, const float *x, mk_scratch *scratch, int32_t precision) {
    prepare(w, x, scratch, precision, -1);
}

// ---- rows ------------------------------------------------------------------------------------

static const mk_matvec_options default_options = { MK_PRECISION_EXACT, MK_PATH_BEST, 0, 0, 0 };

static inline mk_rows_fn rows_fn(const mk_matrix *w, const mk_matvec_options *o) {
    const mk_kernel_table *t = table_for(o->path);
    if (o->precision == MK_PRECISION_INT8 && mk_format_has_i8(w->format)) return t->int8 ? t->int8 : mk_rows_i8_scalar;
    return t->exact;
}

void mk_matvec_rows(const mk_matrix *w, const float *x, const mk_scratch *scratch, float *y,
                    int64_t r0, int64_t r1, const mk_matvec_options *options) {
    const mk_matvec_options *o = options ? options : &default_options;
    if (r0 < 0) r0 = 0;
    if (r1 > w->rows) r1 = w->rows;
    if (r0 >= r1) return;
    mk_scratch_view sv = mk_scratch_split(scratch, w->cols);
    mk_out out = { y, o->bias, o->accumulate };
    rows_fn(w, o)(w, x, &sv, out, r0, r1);
}

/// Rows per task: a multiple of 16, about 4 tasks per thread for balance, and no split at all
/// for matrices too small to pay for waking the workers.
static int64_t chunk_rows(const mk_matrix *w, int threads) {
    int64_t bytes = mk_row_bytes(w) * w->rows;
    if (threads <= 1 || bytes < (64 << 10) || w->rows < 32) return w->rows > 0 ? w->rows : 1;
    int64_t tasks = (int64_t)threads * 4;
    int64_t chunk = (w->rows + tasks - 1) / tasks;
    chunk = (chunk + 15) & ~(int64_t)15;
    return chunk > 0 ? chunk : 16;
}

typedef struct {
    const mk_matrix *w;
    const float *x;          // [n][cols]
    float *y;                // [n][rows]
    const mk_scratch *scratch;
    int64_t scratch_stride;
    int64_t n;
    int64_t chunk;
    mk_rows_fn fn;
    const float *bias;
    int accumulate;
    int multi;               // the AVX-512 multi-vector rows serve this product (see mk_matvec_multi_avx512.c)
} matvec_job;

static void matvec_task(void *raw, int64_t task, int thread) {
    (void)thread;
    const matvec_job *job = raw;
    const mk_matrix *w = job->w;
    int64_t r0 = task * job->chunk;
    int64_t r1 = r0 + job->chunk < w->rows ? r0 + job->chunk : w->rows;
    if (r0 >= r1) return;
    if (job->n == 1) {
        mk_scratch_view sv = mk_scratch_split(job->scratch, w->cols);
        mk_out out = { job->y, job->bias, job->accumulate };
        job->fn(w, job->x, &sv, out, r0, r1);
        return;
    }
#if defined(__x86_64__)
    if (job->multi) {
        // Slices of 16 rows; within a slice each row's weights are unpacked once for up to
        // MK_MULTI_VECTORS vectors at a time (equal, per vector, to the single-vector rows).
        mk_scratch_view views[MK_MULTI_VECTORS];
        mk_out outs[MK_MULTI_VECTORS];
        for (int64_t s = r0; s < r1; s += 16) {
            int64_t e = s + 16 < r1 ? s + 16 : r1;
            for (int64_t v0 = 0; v0 < job->n; v0 += MK_MULTI_VECTORS) {
                int nv = job->n - v0 < MK_MULTI_VECTORS ? (int)(job->n - v0) : MK_MULTI_VECTORS;
                for (int v = 0; v < nv; v++) {
                    views[v] = mk_scratch_split(job->scratch + (v0 + v) * job->scratch_stride, w->cols);
                    outs[v] = (mk_out){ job->y + (v0 + v) * w->rows, job->bias, job->accumulate };
                }
                mk_rows_multi_avx512(w, job->x + v0 * w->cols, views, outs, nv, s, e);
            }
        }
        return;
    }
#endif
    // Several vectors: slices of 16 rows, so a slice is read from memory once and then from
    // cache for every other vector.
    for (int64_t s = r0; s < r1; s += 16) {
        int64_t e = s + 16 < r1 ? s + 16 : r1;
        for (int64_t v = 0; v < job->n; v++) {
            mk_scratch_view sv = mk_scratch_split(job->scratch + v * job->scratch_stride, w->cols);
            mk_out out = { job->y + v * w->rows, job->bias, job->accumulate };
            job->fn(w, job->x + v * w->cols, &sv, out, s, e);
        }
    }
}

void mk_matvec_batch(mk_pool *pool, const mk_matrix *w, const float *x, int64_t n, float *y, mk_scratch *scratch,
                     const mk_matvec_options *options) {
    const mk_matvec_options *o = options ? options : &default_options;
    if (n <= 0 || w->rows <= 0) return;
    int64_t stride = mk_scratch_floats(w->cols);
    for (int64_t v = 0; v < n; v++) prepare(w, x + v * w->cols, scratch + v * stride, o->precision, o->path);
    int path = o->path == MK_PATH_BEST ? mk_best_path() : o->path;
    int multi = 0;
#if defined(__x86_64__)
    multi = n > 1 && path == MK_PATH_AVX512 && mk_path_available(MK_PATH_AVX512) && mk_multi_supported(w, o->precision);
#endif
    matvec_job job = { w, x, y, scratch, stride, n, chunk_rows(w, mk_pool_threads(pool)), rows_fn(w, o), o->bias, o->accumulate, multi };
    int64_t tasks = (w->rows + job.chunk - 1) / job.chunk;
    mk_pool_run(pool, matvec_task, &job, tasks);
}

void mk_matvec(mk_pool *pool, const mk_matrix *w, const float *x, float *y, mk_scratch *scratch,
               const mk_matvec_options *options) {
    mk_matvec_batch(pool, w, x, 1, y, scratch, options);
}
