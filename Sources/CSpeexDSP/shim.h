// speexdsp for Swift: the resampler and the acoustic echo canceller. `speex_echo_ctl` and
// `speex_preprocess_ctl` take a void* argument and import as they are; the wrappers below only
// spare the callers the address-of dance.
#ifndef MOSHI_CSPEEXDSP_SHIM_H
#define MOSHI_CSPEEXDSP_SHIM_H
#include <speex/speex_resampler.h>
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>
static inline int moshi_speex_echo_set_sampling_rate(SpeexEchoState *st, int rate) { return speex_echo_ctl(st, SPEEX_ECHO_SET_SAMPLING_RATE, &rate); }
static inline int moshi_speex_preprocess_set_echo_state(SpeexPreprocessState *pp, SpeexEchoState *st) { return speex_preprocess_ctl(pp, SPEEX_PREPROCESS_SET_ECHO_STATE, st); }
static inline int moshi_speex_preprocess_set_denoise(SpeexPreprocessState *pp, int on) { return speex_preprocess_ctl(pp, SPEEX_PREPROCESS_SET_DENOISE, &on); }
static inline int moshi_speex_preprocess_set_echo_suppress(SpeexPreprocessState *pp, int db) { return speex_preprocess_ctl(pp, SPEEX_PREPROCESS_SET_ECHO_SUPPRESS, &db); }
static inline int moshi_speex_preprocess_set_echo_suppress_active(SpeexPreprocessState *pp, int db) { return speex_preprocess_ctl(pp, SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE, &db); }
#endif
