// Element-wise activations over float arrays, vectorised with run-time CPU dispatch.
#ifndef MOSHI_MK_ACTIVATION_H
#define MOSHI_MK_ACTIVATION_H
#include <stdint.h>

/// ELU (alpha 1): y = x for x > 0, e^x - 1 otherwise, over n floats (`y` may equal `x`), on
/// `path` (MK_PATH_*; MK_PATH_BEST for the fastest this CPU runs). expm1 is Cody-Waite range
/// reduction and a degree-8 polynomial (about 1-2 ulp); every path computes the same formula,
/// the vector ones with fused multiply-adds. Allocates nothing.
void mk_elu_f32(const float *x, float *y, int64_t n, int32_t path);
/// Exact (erf) GELU: y = x * 0.5 * (1 + erf(x / sqrt 2)), over n floats (`y` may equal `x`), on
/// `path` as `mk_elu_f32`. erf within about 1 ulp (a polynomial on |x| <= 1, e^(-x^2) times a
/// polynomial in 1/|x| up to 4); every path the same formula. Allocates nothing.
void mk_gelu_f32(const float *x, float *y, int64_t n, int32_t path);

/// erf over n floats (`y` may equal `x`): GELU's, on its own (within about 1 ulp).
void mk_erf_f32(const float *x, float *y, int64_t n, int32_t path);

/// x[i] = e^(x[i] - max) in place, for softmax weights (every x[i] <= max): the same exp as
/// ELU's (~2 ulp), exactly 0 where x[i] - max < -87 (a masked score, -inf, gives 0).
void mk_softmax_exp_f32(float *x, int64_t n, float max, int32_t path);
#endif
