/// Which way audio flows through a PCM device.
package enum PCMDirection: Sendable, Equatable, CustomStringConvertible {
    /// Recording: `SND_PCM_STREAM_CAPTURE`.
    case capture
    /// Playing: `SND_PCM_STREAM_PLAYBACK`.
    case playback

    package var description: String { self == .capture ? "capture" : "playback" }
}

/// The sample format the device is driven in. Callers always see float samples (-1...1);
/// 16-bit values are read as v / 32768.
package enum PCMSampleFormat: Sendable, Equatable {
    /// `SND_PCM_FORMAT_S16_LE`, what nearly every card supports natively.
    case int16
    /// `SND_PCM_FORMAT_FLOAT_LE`.
    case float32

    var bytesPerSample: Int { self == .int16 ? 2 : 4 }
}

/// How a `PCMDevice` is opened.
package struct PCMDeviceConfiguration: Sendable, Equatable {
    /// The rate callers read and write: the model's 24 kHz.
    package var sampleRate = 24000
    /// Frames per read or write at `sampleRate`: one 80 ms model frame.
    package var framesPerPeriod = 1920
    /// Periods in the device buffer (at least 2): more survives scheduling hiccups, fewer
    /// means less playback latency.
    package var periodCount = 4
    /// Playback starts once this many periods are queued (at most `periodCount`).
    package var playbackStartPeriods = 2
    /// The device format to ask for first; the other one is tried if the device refuses it.
    package var format = PCMSampleFormat.int16
    /// Ask the device for this rate instead of `sampleRate`; we resample. nil: ask for
    /// `sampleRate` and take the nearest rate the device offers.
    package var deviceRate: Int?
    /// Let alsa-lib's `plug` layer resample (`snd_pcm_hw_params_set_rate_resample`). Off by
    /// default: a device that refuses 24 kHz runs at its own rate and speexdsp converts.
    package var allowsALSAResampling = false
    /// speexdsp quality for our own rate conversion.
    package var resamplerQuality = Resampler.liveQuality

    package init() {}
}
