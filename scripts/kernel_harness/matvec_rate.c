// One core's rate for one weight format: y = W x on the kernel path BEST (run with
// MOSHI_KERNEL_PATH=avx2|scalar for another), best of RUNS, plus the per-x preparation time.
// Build against any tree's kernels (e.g. an older commit's, from `git archive REV Sources/CKernels`):
//   cc -O3 -march=native -ISources/CKernels -ISources/CKernels/include \
//      scripts/kernel_harness/matvec_rate.c Sources/CKernels/*.c -lm -lpthread -o /tmp/matvec_rate
//   /tmp/matvec_rate ROWS COLS FORMAT RUNS [PRECISION]
// FORMAT: 4 = Q4_0, 5 = MLX 4-bit (groups of 32, f16 scales), see mk_matvec.h; PRECISION 0 exact, 1 int8.
// 256 x 4096 stays in cache; 262144 x 4096 comes from memory.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mk_internal.h"

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static uint64_t state = 88172645463325252ull;
static uint64_t next(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state; }
static float uniform(void) { return (float)((next() >> 40) * (1.0 / 16777216.0) * 2 - 1); }

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: %s ROWS COLS FORMAT RUNS [PRECISION]\n", argv[0]); return 2; }
    const int64_t rows = atoll(argv[1]), cols = atoll(argv[2]);
    const int format = atoi(argv[3]), runs = atoi(argv[4]), gs = 32;
    mk_matrix w;
    memset(&w, 0, sizeof w);
    w.rows = rows; w.cols = cols; w.format = format; w.group_size = gs; w.scale_type = MK_SCALE_F16;
    const int64_t bytes = mk_row_bytes(&w) * rows, groups = rows * cols / gs;
    uint8_t *q = aligned_alloc(64, (bytes + 127) / 64 * 64);
    for (int64_t i = 0; i < bytes; i += 8) { uint64_t v = next(); memcpy(q + i, &v, 8); }
    if (format == MK_FORMAT_Q4_0)
        for (int64_t b = 0; b < rows * cols / 32; b++) { _Float16 d = (_Float16)(0.01f * (1 + uniform() * 0.5f)); memcpy(q + b * 18, &d, 2); }
    uint16_t *scales = malloc(groups * 2), *biases = malloc(groups * 2);
    for (int64_t i = 0; i < groups; i++) {
        _Float16 s = (_Float16)(0.01f * (1 + uniform() * 0.5f)), b = (_Float16)(-0.08f * (1 + uniform() * 0.1f));
        memcpy(scales + i, &s, 2); memcpy(biases + i, &b, 2);
    }
    w.data = q; w.scales = scales; w.biases = biases;
    float *x = malloc(cols * 4), *y = malloc(rows * 4);
    for (int64_t i = 0; i < cols; i++) x[i] = uniform();
    float *scratch = aligned_alloc(64, (mk_scratch_floats(cols) * 4 + 63) / 64 * 64);
    mk_matvec_options o = { argc > 5 ? atoi(argv[5]) : 0, MK_PATH_BEST, 0, 0, 0 };
    mk_matvec(NULL, &w, x, y, scratch, &o);
    double best = 1e9, prep = 1e9;
    for (int i = 0; i < runs; i++) { double t = now(); mk_matvec_rows(&w, x, scratch, y, 0, rows, &o); t = now() - t; if (t < best) best = t; }
    for (int i = 0; i < runs; i++) { double t = now(); mk_matvec_prepare(&w, x, scratch, o.precision); t = now() - t; if (t < prep) prep = t; }
    double sum = 0;
    for (int64_t r = 0; r < rows; r++) sum += y[r];
    const double weight_bytes = bytes + (format == MK_FORMAT_MLX4 ? groups * 4.0 : 0);
    printf("format %d, %s: %.2f GB/s (checksum %.6g), preparing x for every path %.1f us\n", format,
           o.precision ? "int8" : "exact", weight_bytes / best / 1e9, sum, prep * 1e6);
    return 0;
}
