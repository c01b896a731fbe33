// ALSA (libasound2) for Swift. `snd_pcm_hw_params_alloca` and friends are macros Swift cannot
// import: use snd_pcm_hw_params_malloc / snd_pcm_hw_params_free instead.
#ifndef MOSHI_CALSA_SHIM_H
#define MOSHI_CALSA_SHIM_H
#include <alsa/asoundlib.h>

/// -EPIPE and -ESTRPIPE as plain constants (errno macros are not always visible from Swift).
static inline int moshi_alsa_epipe(void) { return -EPIPE; }
static inline int moshi_alsa_estrpipe(void) { return -ESTRPIPE; }
static inline int moshi_alsa_eagain(void) { return -EAGAIN; }
#endif
