// Half-precision conversions (see mk_half.h). The widening ones share mk_internal.h's inline
// decoders with the kernels.
#include "mk_half.h"
#include "mk_internal.h"

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
        if (abs < 0x33000000u) return (uint16_t)sign;                 // at most half the smallest subnormal
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
