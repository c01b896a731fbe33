#ifndef MOSHI_MK_CPU_H
#define MOSHI_MK_CPU_H
/// CPU features found at run time; one bit each. The AVX and AVX-512 bits are only set when the
/// operating system also saves the ymm (and zmm, opmask) state (XCR0 read with xgetbv).
enum {
    MK_CPU_AVX2_FMA = 1 << 0,
    MK_CPU_F16C = 1 << 1,
    MK_CPU_AVX512F = 1 << 2,
    MK_CPU_AVX512BW = 1 << 3,
    MK_CPU_NEON = 1 << 4,
    MK_CPU_AVX512VL = 1 << 5,
    MK_CPU_AVX512VNNI = 1 << 6,
    MK_CPU_AVX512BF16 = 1 << 7,
};
/// The features of the CPU we run on (x86: cpuid and xgetbv; arm64: NEON always).
int mk_cpu_features(void);
#endif
