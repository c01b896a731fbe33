// The memory-bandwidth probe of `moshi bench kernels`.
#ifndef MOSHI_MK_BANDWIDTH_H
#define MOSHI_MK_BANDWIDTH_H
#include <stdint.h>
#include "mk_pool.h"
/// Reads `bytes` bytes with the widest loads the CPU has (AVX2: 256-bit), in contiguous
/// pieces over the pool's threads, and returns a checksum of what it read (so the loads cannot
/// be optimised away). Time it to get the read bandwidth.
double mk_read_bandwidth_probe(mk_pool *pool, const void *data, int64_t bytes);
#endif
