/// The one clock of a conversation: 24 kHz mono audio cut into 80 ms frames.
package enum FrameTiming {
    package static let sampleRate = 24_000
    package static let samplesPerFrame = 1920
    package static let frameDurationNanoseconds: UInt64 = 80_000_000
}
