// Shared by the multi-row f32 product files (not part of the public interface).
#ifndef MOSHI_MK_MATMUL_F32_H
#define MOSHI_MK_MATMUL_F32_H
#include <stdint.h>
#include "mk_matmul.h"
#include "mk_matvec.h"

/// The dot products of four weight rows w[0..3] with a0 (into s0) and, when a1 is not NULL,
/// with a1 (into s1), over k floats.
typedef void (*mk_dot4_fn)(const float *const w[4], const float *a0, const float *a1, int64_t k, float s0[4], float s1[4]);

/// The dot products of four weight rows w[0..3] with four rows a[0..3] (s[r][i] = w[i]·a[r]),
/// each computed exactly as the `mk_dot4_fn` of the same path computes it (same lanes, same
/// order, same reduction): it only loads each weight vector once for four rows instead of two.
typedef void (*mk_dot4x4_fn)(const float *const w[4], const float *const a[4], int64_t k, float s[4][4]);

#if defined(__x86_64__)
void mk_dot4x4_f32_avx512(const float *const w[4], const float *const a[4], int64_t k, float s[4][4]);
void mk_dot4_f32_avx2(const float *const w[4], const float *a0, const float *a1, int64_t k, float s0[4], float s1[4]);
void mk_dot4_f32_avx512(const float *const w[4], const float *a0, const float *a1, int64_t k, float s0[4], float s1[4]);
#endif
#endif
