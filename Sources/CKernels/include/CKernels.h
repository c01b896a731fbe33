// Umbrella header of the C kernels target (SIMD kernels with run-time CPU dispatch, thread pool).
#ifndef MOSHI_CKERNELS_H
#define MOSHI_CKERNELS_H
#include "mk_cpu.h"
#include "mk_pool.h"
#include "mk_half.h"
#include "mk_matvec.h"
#include "mk_bandwidth.h"
#include "mk_attention.h"
#include "mk_matmul.h"
#include "mk_gemm_panels.h"
#include "mk_activation.h"
#endif
