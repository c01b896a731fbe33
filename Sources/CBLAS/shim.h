// OpenBLAS's CBLAS interface, used for large f32 matrix-matrix products.
#ifndef MOSHI_CBLAS_SHIM_H
#define MOSHI_CBLAS_SHIM_H
#include <cblas.h>
#endif
