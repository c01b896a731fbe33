/// Where a `FrameLoop` sends the model's audio: 24 kHz mono float frames of
/// `FrameTiming.samplesPerFrame` samples, pushed one at a time. WAV files, ALSA playback, the
/// null sink and in-memory capture implement it; a network stream can too.
///
/// `write` is called from the loop's playback thread only; `start` before the first write and
/// `finish` after the last, on the same thread.
package protocol AudioSink: AnyObject {
    /// What it is, for logs and reports.
    var description: String { get }
    /// Whether `write` blocks until the device has room (a sound card: the device is the
    /// clock). Such a sink gets a continuous stream: silence whenever the model's next frame is
    /// not ready. Otherwise the sink gets exactly one frame per captured frame, in order, as
    /// soon as it is computed (silence for frames that produced no audio or were dropped), so
    /// its output lines up with the input frame for frame.
    var isDevicePaced: Bool { get }
    /// Underruns the device recovered from so far (0 for anything that is not a device). Any
    /// thread may read it.
    var xrunCount: Int { get }
    /// Prepares to take frames.
    func start() throws
    /// Takes one frame. Allocates nothing.
    func write(_ frame: UnsafePointer<Float>) throws
    /// Flushes or drains what was written and closes.
    func finish() throws
}

extension AudioSink {
    package var xrunCount: Int { 0 }
    package func start() throws {}
    package func finish() throws {}
}

/// An output that failed: the file or device and what went wrong.
package struct AudioSinkError: Error, Sendable, Equatable, CustomStringConvertible {
    package var target: String
    package var message: String

    package init(target: String, message: String) {
        self.target = target
        self.message = message
    }

    package var description: String { "\(target): \(message)" }
}
