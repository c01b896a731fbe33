import COpus

/// The libopus coding mode (`OPUS_APPLICATION_*`), fixed when the encoder is created.
package enum OpusApplication: Sendable, CaseIterable {
    /// `OPUS_APPLICATION_VOIP`: best speech quality per bit (high-pass, speech emphasis). Our default.
    case voip
    /// `OPUS_APPLICATION_AUDIO`: most faithful to the input (what Moshi's web client uses for the mic).
    case audio
    /// `OPUS_APPLICATION_RESTRICTED_LOWDELAY`: CELT only, 4 ms less lookahead, worse speech at low rates.
    case restrictedLowDelay

    var rawValue: Int32 {
        switch self {
        case .voip: OPUS_APPLICATION_VOIP
        case .audio: OPUS_APPLICATION_AUDIO
        case .restrictedLowDelay: OPUS_APPLICATION_RESTRICTED_LOWDELAY
        }
    }
}

/// The Opus frame durations we use. One Mimi frame is 80 ms; 20 ms matches RTP/WebRTC's ptime.
package enum OpusFrameDuration: Int, Sendable, CaseIterable {
    case ms20 = 20
    case ms40 = 40
    case ms60 = 60
    case ms80 = 80

    /// Samples per channel in one frame of this duration at `sampleRate` (1920 for 80 ms at 24 kHz).
    package func samples(atRate sampleRate: Int) -> Int { sampleRate / 1000 * rawValue }
}

/// The sample rates libopus encodes and decodes at.
package enum OpusSampleRate {
    /// 8, 12, 16, 24 and 48 kHz, the only rates `opus_encoder_create` / `opus_decoder_create` accept.
    package static let supported: Set<Int> = [8000, 12000, 16000, 24000, 48000]
    /// Ogg Opus counts pre-skip and granule positions at 48 kHz whatever the coding rate (RFC 7845).
    package static let granuleRate = 48000
}
