// The memory-bandwidth probe (see mk_bandwidth.h): a plain large read, as wide and as
// parallel as the CPU allows, against which the matrix kernels' weight traffic is compared.
#include "mk_bandwidth.h"
#include "mk_matvec.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>

/// XOR of every 256-bit word, eight independent chains so loads are the only limit.
__attribute__((target("avx2"))) static double read_avx2(const uint8_t *p, int64_t bytes) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    int64_t i = 0;
    for (; i + 256 <= bytes; i += 256) {
        a0 = _mm256_xor_si256(a0, _mm256_loadu_si256((const __m256i *)(p + i)));
        a1 = _mm256_xor_si256(a1, _mm256_loadu_si256((const __m256i *)(p + i + 32)));
        a2 = _mm256_xor_si256(a2, _mm256_loadu_si256((const __m256i *)(p + i + 64)));
        a3 = _mm256_xor_si256(a3, _mm256_loadu_si256((const __m256i *)(p + i + 96)));
        a4 = _mm256_xor_si256(a4, _mm256_loadu_si256((const __m256i *)(p + i + 128)));
        a5 = _mm256_xor_si256(a5, _mm256_loadu_si256((const __m256i *)(p + i + 160)));
        a6 = _mm256_xor_si256(a6, _mm256_loadu_si256((const __m256i *)(p + i + 192)));
        a7 = _mm256_xor_si256(a7, _mm256_loadu_si256((const __m256i *)(p + i + 224)));
    }
    __m256i a = _mm256_xor_si256(_mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3)),
                                 _mm256_xor_si256(_mm256_xor_si256(a4, a5), _mm256_xor_si256(a6, a7)));
    uint32_t tail = 0;
    for (; i < bytes; i++) tail ^= p[i];
    return (double)((uint32_t)_mm256_extract_epi32(a, 0) & 0xFFFFu) + (double)tail;
}
#endif

/// XOR of every 64-bit word: the portable probe.
static double read_portable(const uint8_t *p, int64_t bytes) {
    uint64_t a = 0, b = 0, c = 0, d = 0;
    int64_t i = 0;
    for (; i + 32 <= bytes; i += 32) {
        uint64_t v[4];
        memcpy(v, p + i, 32);
        a ^= v[0]; b ^= v[1]; c ^= v[2]; d ^= v[3];
    }
    for (; i < bytes; i++) a ^= p[i];
    return (double)((a ^ b ^ c ^ d) & 0xFFFFu);
}

typedef struct {
    const uint8_t *data;
    int64_t chunk;
    int64_t bytes;
    int wide;
    double sums[256];
} read_job;

static void read_task(void *raw, int64_t task, int thread) {
    (void)thread;
    read_job *job = raw;
    int64_t begin = task * job->chunk;
    int64_t end = begin + job->chunk < job->bytes ? begin + job->chunk : job->bytes;
    double s;
#if defined(__x86_64__)
    if (job->wide) s = read_avx2(job->data + begin, end - begin);
    else
#endif
    s = read_portable(job->data + begin, end - begin);
    job->sums[task & 255] += s;
}

double mk_read_bandwidth_probe(mk_pool *pool, const void *data, int64_t bytes) {
    if (!data || bytes <= 0) return 0.0;
    read_job job;
    memset(&job, 0, sizeof job);
    job.data = data;
    job.bytes = bytes;
    job.wide = mk_path_available(MK_PATH_AVX2);
    int threads = mk_pool_threads(pool);
    int64_t pieces = (int64_t)threads * 16;               // contiguous pieces, handed out in turn
    int64_t chunk = (bytes + pieces - 1) / pieces;
    job.chunk = (chunk + 4095) & ~(int64_t)4095;
    int64_t tasks = (bytes + job.chunk - 1) / job.chunk;
    mk_pool_run(pool, read_task, &job, tasks);
    double total = 0.0;
    for (int i = 0; i < 256; i++) total += job.sums[i];
    return total;
}
