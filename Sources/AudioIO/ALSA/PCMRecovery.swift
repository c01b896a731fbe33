import CALSA

/// What a PCM read or write does about a negative return: the recovery policy, kept apart
/// from the calls so that every error path is tested without a failing device.
package enum PCMRecovery: Sendable, Equatable {
    /// Over- or underrun (-EPIPE): `snd_pcm_recover` prepares the stream; counted as an xrun.
    case xrun
    /// The system suspended the device (-ESTRPIPE): `snd_pcm_recover` resumes or prepares it; counted.
    case suspended
    /// A signal interrupted the call (-EINTR): `snd_pcm_recover`, then go on; not counted.
    case interrupted
    /// Nothing ready yet (-EAGAIN, non-blocking mode only): wait and retry.
    case retry
    /// Anything else, a vanished device (-ENODEV, -EBADFD) included: an error for the caller.
    case fail

    /// The policy for `code`, a negative return of `snd_pcm_readi` / `snd_pcm_writei`.
    package init(code: Int32) {
        switch code {
        case moshi_alsa_epipe(): self = .xrun
        case moshi_alsa_estrpipe(): self = .suspended
        case moshi_alsa_eintr(): self = .interrupted
        case moshi_alsa_eagain(): self = .retry
        default: self = .fail
        }
    }
}

/// An xrun (or suspend) that a `PCMDevice` recovered from, as told to its `onXrun` hook.
package struct PCMXrun: Sendable, Equatable {
    /// The device's ALSA name.
    package var device: String
    /// Capture (overrun: frames were lost) or playback (underrun: a gap was heard).
    package var direction: PCMDirection
    /// Whether it was a suspend (-ESTRPIPE) rather than an over/underrun (-EPIPE).
    package var suspended: Bool
    /// The device's xrun count including this one.
    package var count: Int
}
