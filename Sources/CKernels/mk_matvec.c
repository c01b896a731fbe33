// Matrix-vector products: geometry checks, per-call preparation, run-time dispatch to the
// scalar / AVX2 / NEON row kernels, and the split of rows over the thread pool.
#include <math.h>
#include "mk_internal.h"
#include "mk_cpu.h"

int64_t mk_scratch_floats(int64_t cols) {
    int64_t nb = (cols + MK_BLOCK - 1) / MK_BLOCK;
    int64_t padded = (nb + 15) & ~(int64_t)15;
    return 3 * padded + (cols + 3) / 4 + 16;
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

int mk_best_path(void) {
#if defined(__x86_64__)
    int f = mk_cpu_features();
    if ((f & MK_CPU_AVX2_FMA) && (f & MK_CPU_F16C)) return MK_PATH_AVX2;
    return MK_PATH_SCALAR;
#elif defined(__aarch64__)
    return MK_PATH_NEON;
#else
    return MK_PATH_SCALAR;
#endif
}

static int resolve_path(int path) {
    static int best = -1;
    if (path != MK_PATH_BEST) {
#if defined(__x86_64__)
        if (path == MK_PATH_AVX2 && mk_best_path() != MK_PATH_AVX2) return MK_PATH_SCALAR;
        if (path == MK_PATH_NEON) return MK_PATH_SCALAR;
#elif defined(__aarch64__)
        if (path == MK_PATH_AVX2) return MK_PATH_SCALAR;
#else
        if (path != MK_PATH_SCALAR) return MK_PATH_SCALAR;
#endif
        return path;
    }
    if (best < 0) best = mk_best_path();
    return best;
}

void mk_matvec_prepare(const mk_matrix *w, const float *x, mk_scratch *scratch) {
    if (w->format != MK_FORMAT_MLX4 && w->format != MK_FORMAT_MLX8) return;
    mk_scratch_view sv = mk_scratch_split(scratch, w->cols);
    int64_t nb = w->cols / MK_BLOCK;
    for (int64_t b = 0; b < nb; b++) {
        float s = 0.0f;
        for (int j = 0; j < MK_BLOCK; j++) s += x[b * MK_BLOCK + j];
        sv.xsum[b] = s;
    }
}

void mk_matvec_i8_prepare(const mk_matrix *w, const float *x, mk_scratch *scratch) {
    mk_scratch_view sv = mk_scratch_split(scratch, w->cols);
    int64_t nb = w->cols / MK_BLOCK;
    for (int64_t b = 0; b < nb; b++) {
        const float *xb = x + b * MK_BLOCK;
        float amax = 0.0f, sum = 0.0f;
        for (int j = 0; j < MK_BLOCK; j++) {
            float a = fabsf(xb[j]);
            if (a > amax) amax = a;
            sum += xb[j];
        }
        float d = amax / 127.0f;
        float id = d > 0.0f ? 1.0f / d : 0.0f;
        int32_t qs = 0;
        for (int j = 0; j < MK_BLOCK; j++) {
            float v = roundf(xb[j] * id);
            if (v > 127.0f) v = 127.0f;
            if (v < -127.0f) v = -127.0f;
            sv.xq[b * MK_BLOCK + j] = (int8_t)v;
            qs += (int32_t)v;
        }
        sv.xd[b] = d;
        sv.qsum[b] = qs;
        sv.xsum[b] = sum;
    }
}

void mk_matvec_rows(const mk_matrix *w, const float *x, const mk_scratch *scratch, float *y,
                    int64_t r0, int64_t r1, int path) {
    mk_scratch_view sv = mk_scratch_split(scratch, w->cols);
    switch (resolve_path(path)) {
#if defined(__x86_64__)
    case MK_PATH_AVX2: mk_rows_avx2(w, x, sv, y, r0, r1); return;
#endif
#if defined(__aarch64__)
    case MK_PATH_NEON: mk_rows_neon(w, x, sv, y, r0, r1); return;
#endif
    default: mk_rows_scalar(w, x, sv, y, r0, r1); return;
    }
}

void mk_matvec_i8_rows(const mk_matrix *w, const mk_scratch *scratch, float *y, int64_t r0, int64_t r1, int path) {
    mk_scratch_view sv = mk_scratch_split(scratch, w->cols);
    switch (resolve_path(path)) {
#if defined(__x86_64__)
    case MK_PATH_AVX2: mk_rows_i8_avx2(w, sv, y, r0, r1); return;
#endif
    default: mk_rows_i8_scalar(w, sv, y, r0, r1); return;
    }
}

typedef struct {
    const mk_matrix *w;
    const float *x;
    const mk_scratch *scratch;
    float *y;
    int64_t chunk;
    int int8;
    int path;
} matvec_job;

static void matvec_task(void *raw, int64_t task, int thread) {
    (void)thread;
    const matvec_job *job = raw;
    int64_t r0 = task * job->chunk;
    int64_t r1 = r0 + job->chunk;
    if (r1 > job->w->rows) r1 = job->w->rows;
    if (r0 >= r1) return;
    if (job->int8) mk_matvec_i8_rows(job->w, job->scratch, job->y, r0, r1, job->path);
    else mk_matvec_rows(job->w, job->x, job->scratch, job->y, r0, r1, job->path);
}

/// Rows per task: enough tasks for balance (4 per thread), each a multiple of 16 rows, and
/// no split at all for matrices too small to pay for waking the workers.
static int64_t chunk_rows(const mk_matrix *w, int threads) {
    int64_t bytes = mk_row_bytes(w) * w->rows;
    if (threads <= 1 || bytes < (64 << 10) || w->rows < 32) return w->rows > 0 ? w->rows : 1;
    int64_t tasks = (int64_t)threads * 4;
    int64_t chunk = (w->rows + tasks - 1) / tasks;
    chunk = (chunk + 15) & ~(int64_t)15;
    return chunk > 0 ? chunk : 16;
}

void mk_matvec(mk_pool *pool, const mk_matrix *w, const float *x, float *y, mk_scratch *scratch, int int8, int path) {
    int use_i8 = int8 && mk_format_has_i8(w->format);
    if (use_i8) mk_matvec_i8_prepare(w, x, scratch);
    else mk_matvec_prepare(w, x, scratch);
    matvec_job job = { w, x, scratch, y, chunk_rows(w, mk_pool_threads(pool)), use_i8, path };
    int64_t tasks = (w->rows + job.chunk - 1) / job.chunk;
    mk_pool_run(pool, matvec_task, &job, tasks);
}

typedef struct {
    const mk_matrix *w;
    const float *x;
    int64_t n;
    float *y;
    const mk_scratch *scratch;
    int64_t scratch_stride;
    int64_t chunk;
} batch_job;

static void batch_task(void *raw, int64_t task, int thread) {
    (void)thread;
    const batch_job *job = raw;
    int64_t r0 = task * job->chunk;
    int64_t r1 = r0 + job->chunk;
    if (r1 > job->w->rows) r1 = job->w->rows;
    // Rows in slices of 8 so a slice stays in cache while every vector passes over it.
    for (int64_t s = r0; s < r1; s += 8) {
        int64_t e = s + 8 < r1 ? s + 8 : r1;
        for (int64_t v = 0; v < job->n; v++) {
            mk_matvec_rows(job->w, job->x + v * job->w->cols, job->scratch + v * job->scratch_stride,
                           job->y + v * job->w->rows, s, e, MK_PATH_BEST);
        }
    }
}

void mk_matvec_batch(mk_pool *pool, const mk_matrix *w, const float *x, int64_t n, float *y, mk_scratch *scratch) {
    int64_t stride = mk_scratch_floats(w->cols);
    for (int64_t v = 0; v < n; v++) mk_matvec_prepare(w, x + v * w->cols, scratch + v * stride);
    batch_job job = { w, x, n, y, scratch, stride, chunk_rows(w, mk_pool_threads(pool)) };
    int64_t tasks = (w->rows + job.chunk - 1) / job.chunk;
    mk_pool_run(pool, batch_task, &job, tasks);
}

float mk_f16_to_f32(uint16_t h) { return mk_half_to_float(h); }
float mk_bf16_to_f32(uint16_t h) { return mk_bfloat_to_float(h); }

uint16_t mk_f32_to_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((bits >> 16) | 0x40u);   // quiet NaN
    uint32_t rounding = 0x7FFFu + ((bits >> 16) & 1u);
    return (uint16_t)((bits + rounding) >> 16);
}

uint16_t mk_f32_to_f16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    uint32_t sign = (bits >> 16) & 0x8000u;
    uint32_t abs = bits & 0x7FFFFFFFu;
    if (abs > 0x7F800000u) return (uint16_t)(sign | 0x7E00u);
    if (abs >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u);        // rounds to >= 65520: infinity
    if (abs < 0x38800000u) {                                          // below the smallest normal: subnormal
        if (abs < 0x33000000u) return (uint16_t)sign;                 // below half the smallest subnormal
        // value = mant24 * 2^(exp - 150); in units of the f16 subnormal step 2^-24 that is
        // mant24 >> (126 - exp), rounded to nearest even (q may carry into the smallest normal).
        uint32_t exp = abs >> 23;
        uint32_t mant = (abs & 0x7FFFFFu) | 0x800000u;
        uint32_t shift = 126 - exp;
        uint32_t q = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1u))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t rounded = abs + 0xFFFu + ((abs >> 13) & 1u);
    return (uint16_t)(sign | ((rounded - 0x38000000u) >> 13));
}

typedef struct {
    const uint8_t *data;
    int64_t chunk;
    int64_t bytes;
    double sums[64];
} read_job;

static void read_task(void *raw, int64_t task, int thread) {
    read_job *job = raw;
    int64_t begin = task * job->chunk;
    int64_t end = begin + job->chunk < job->bytes ? begin + job->chunk : job->bytes;
    double s = 0.0;
#if defined(__x86_64__)
    if (mk_best_path() == MK_PATH_AVX2) {
        s = mk_read_avx2(job->data + begin, end - begin);
    } else
#endif
    {
        const uint64_t *p = (const uint64_t *)(job->data + begin);
        uint64_t a = 0, b = 0, c = 0, d = 0;
        int64_t n = (end - begin) / 32;
        for (int64_t i = 0; i < n; i++) { a ^= p[4 * i]; b ^= p[4 * i + 1]; c ^= p[4 * i + 2]; d ^= p[4 * i + 3]; }
        s = (double)((a ^ b ^ c ^ d) & 0xFFFF);
    }
    job->sums[thread & 63] += s;
}

double mk_read_bandwidth_probe(mk_pool *pool, const void *data, int64_t bytes) {
    read_job job;
    memset(&job, 0, sizeof job);
    job.data = data;
    job.bytes = bytes;
    int threads = mk_pool_threads(pool);
    int64_t chunk = (bytes + threads - 1) / threads;
    job.chunk = (chunk + 4095) & ~(int64_t)4095;
    int64_t tasks = (bytes + job.chunk - 1) / job.chunk;
    mk_pool_run(pool, read_task, &job, tasks);
    double total = 0.0;
    for (int i = 0; i < 64; i++) total += job.sums[i];
    return total;
}
