/// Discards the audio (profiling without output), counting frames. Not device-paced.
public final class NullSink: AudioSink {
    /// Frames taken so far (read after the loop ends).
    public private(set) var framesWritten = 0

    public init() {}

    public var description: String { "null" }
    public var isDevicePaced: Bool { false }

    public func write(_ frame: UnsafePointer<Float>) throws { framesWritten += 1 }
}
