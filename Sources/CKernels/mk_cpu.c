#include "mk_cpu.h"
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <stdint.h>

/// XCR0: which register state the operating system saves on a context switch.
static uint64_t xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}
#endif

int mk_cpu_features(void) {
    int f = 0;
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    const uint64_t xcr = osxsave ? xcr0() : 0;
    const int ymm_saved = (xcr & 0x6) == 0x6;          // SSE and AVX state
    const int zmm_saved = (xcr & 0xE6) == 0xE6;        // and opmask, zmm0-15 upper halves, zmm16-31
    if (!avx || !ymm_saved) return 0;
    if (f16c) f |= MK_CPU_F16C;
    if (__get_cpuid_max(0, 0) < 7) return f;
    __cpuid_count(7, 0, a, b, c, d);
    if (((b >> 5) & 1) && fma) f |= MK_CPU_AVX2_FMA;
    if (zmm_saved) {
        if ((b >> 16) & 1) f |= MK_CPU_AVX512F;
        if ((b >> 30) & 1) f |= MK_CPU_AVX512BW;
        if ((b >> 31) & 1) f |= MK_CPU_AVX512VL;
        if ((c >> 11) & 1) f |= MK_CPU_AVX512VNNI;
        unsigned a1, b1, c1, d1;
        __cpuid_count(7, 1, a1, b1, c1, d1);
        if ((a1 >> 5) & 1) f |= MK_CPU_AVX512BF16;
    }
#elif defined(__aarch64__)
    f |= MK_CPU_NEON;
#endif
    return f;
}
