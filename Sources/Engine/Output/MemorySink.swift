/// Keeps the audio in memory (tests, and callers that post-process a run). Storage for
/// `reservedFrames` is allocated up front; past that the array grows. Not device-paced.
package final class MemorySink: AudioSink {
    /// Everything written, 24 kHz mono (read after the loop ends).
    package private(set) var samples: [Float] = []

    package init(reservedFrames: Int = 0) {
        samples.reserveCapacity(max(0, reservedFrames) * FrameTiming.samplesPerFrame)
    }

    package var description: String { "memory" }
    package var isDevicePaced: Bool { false }
    /// Frames written so far.
    package var framesWritten: Int { samples.count / FrameTiming.samplesPerFrame }

    package func write(_ frame: UnsafePointer<Float>) throws {
        samples.append(contentsOf: UnsafeBufferPointer(start: frame, count: FrameTiming.samplesPerFrame))
    }
}
