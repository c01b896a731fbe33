/// Keeps the audio in memory (tests, and callers that post-process a run). Storage for
/// `reservedFrames` is allocated up front; past that the array grows. Not device-paced.
public final class MemorySink: AudioSink {
    /// Everything written, 24 kHz mono (read after the loop ends).
    public private(set) var samples: [Float] = []

    public init(reservedFrames: Int = 0) {
        samples.reserveCapacity(max(0, reservedFrames) * FrameTiming.samplesPerFrame)
    }

    public var description: String { "memory" }
    public var isDevicePaced: Bool { false }
    /// Frames written so far.
    public var framesWritten: Int { samples.count / FrameTiming.samplesPerFrame }

    public func write(_ frame: UnsafePointer<Float>) throws {
        samples.append(contentsOf: UnsafeBufferPointer(start: frame, count: FrameTiming.samplesPerFrame))
    }
}
