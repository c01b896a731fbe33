/// How the samples of a WAV file are stored.
package enum WAVSampleFormat: Sendable, CaseIterable, Equatable {
    /// Unsigned 8-bit PCM (read as (v - 128) / 128).
    case pcm8
    /// Signed 16-bit PCM (read as v / 32768): the common case and our default for writing.
    case pcm16
    /// Signed 24-bit PCM (read as v / 2^23).
    case pcm24
    /// Signed 32-bit PCM (read as v / 2^31).
    case pcm32
    /// IEEE 754 32-bit float, nominally -1...1.
    case float32
    /// IEEE 754 64-bit float.
    case float64

    /// Bits in one stored sample.
    package var bitsPerSample: Int {
        switch self {
        case .pcm8: 8
        case .pcm16: 16
        case .pcm24: 24
        case .pcm32, .float32: 32
        case .float64: 64
        }
    }

    /// Whether this is an IEEE float format (format tag 3) rather than integer PCM (tag 1).
    package var isFloat: Bool { self == .float32 || self == .float64 }

    /// The format for a format tag (1 = PCM, 3 = IEEE float) and a bit depth, if we read it.
    init?(formatTag: UInt16, bitsPerSample: Int) {
        switch (formatTag, bitsPerSample) {
        case (1, 8): self = .pcm8
        case (1, 16): self = .pcm16
        case (1, 24): self = .pcm24
        case (1, 32): self = .pcm32
        case (3, 32): self = .float32
        case (3, 64): self = .float64
        default: return nil
        }
    }
}
