// libogg for Swift (page framing, CRC, packet assembly).
#ifndef MOSHI_COGG_SHIM_H
#define MOSHI_COGG_SHIM_H
#include <ogg/ogg.h>
#endif
