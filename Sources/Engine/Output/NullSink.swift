/// Discards the audio (profiling without output), counting frames. Not device-paced.
package final class NullSink: AudioSink {
    /// Frames taken so far (read after the loop ends).
    package private(set) var framesWritten = 0

    package init() {}

    package var description: String { "null" }
    package var isDevicePaced: Bool { false }

    package func write(_ frame: UnsafePointer<Float>) throws { framesWritten += 1 }
}
