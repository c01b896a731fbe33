/// The one clock of a conversation: 24 kHz mono audio cut into 80 ms frames.
public enum FrameTiming {
    public static let sampleRate = 24_000
    public static let samplesPerFrame = 1920
    public static let frameDurationNanoseconds: UInt64 = 80_000_000
}
