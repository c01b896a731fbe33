// Half-precision conversions (IEEE binary16 and bfloat16).
#ifndef MOSHI_MK_HALF_H
#define MOSHI_MK_HALF_H
#include <stdint.h>
/// Exact widening conversions.
float mk_f16_to_f32(uint16_t h);
float mk_bf16_to_f32(uint16_t h);
/// Narrowing conversions, rounding to nearest even (f16: overflow to infinity, subnormals kept;
/// NaN stays NaN).
uint16_t mk_f32_to_f16(float f);
uint16_t mk_f32_to_bf16(float f);
#endif
