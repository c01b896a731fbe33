#ifndef MOSHI_MK_CPU_H
#define MOSHI_MK_CPU_H
/// CPU features found at run time; one bit each.
enum {
    MK_CPU_AVX2_FMA = 1 << 0,
    MK_CPU_F16C = 1 << 1,
    MK_CPU_AVX512F = 1 << 2,
    MK_CPU_AVX512BW = 1 << 3,
    MK_CPU_NEON = 1 << 4,
};
/// The features of the CPU we run on (x86: cpuid through __builtin_cpu_supports; arm64: NEON always).
int mk_cpu_features(void);
#endif
