#include "mk_cpu.h"

int mk_cpu_features(void) {
    int f = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f |= MK_CPU_AVX2_FMA;
    if (__builtin_cpu_supports("f16c")) f |= MK_CPU_F16C;
    if (__builtin_cpu_supports("avx512f")) f |= MK_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512bw")) f |= MK_CPU_AVX512BW;
#elif defined(__aarch64__)
    f |= MK_CPU_NEON;
#endif
    return f;
}
