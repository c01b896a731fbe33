// ALSA (libasound2) for Swift. `snd_pcm_hw_params_alloca` and friends are macros Swift cannot
// import: use snd_pcm_hw_params_malloc / snd_pcm_hw_params_free instead.
#ifndef MOSHI_CALSA_SHIM_H
#define MOSHI_CALSA_SHIM_H
#include <errno.h>
#include <alsa/asoundlib.h>

/// -EPIPE and -ESTRPIPE as plain constants (errno macros are not always visible from Swift).
static inline int moshi_alsa_epipe(void) { return -EPIPE; }
static inline int moshi_alsa_estrpipe(void) { return -ESTRPIPE; }
static inline int moshi_alsa_eagain(void) { return -EAGAIN; }
static inline int moshi_alsa_eintr(void) { return -EINTR; }
/// The codes a device that went away (USB headset unplugged) returns.
static inline int moshi_alsa_enodev(void) { return -ENODEV; }
static inline int moshi_alsa_ebadfd(void) { return -EBADFD; }
static inline int moshi_alsa_enxio(void) { return -ENXIO; }
static inline int moshi_alsa_eio(void) { return -EIO; }
static inline int moshi_alsa_enoent(void) { return -ENOENT; }
#endif
