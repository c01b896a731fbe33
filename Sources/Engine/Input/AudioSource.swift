/// Where a `FrameLoop` gets its audio: 24 kHz mono float frames of
/// `FrameTiming.samplesPerFrame` samples, pushed one at a time. Files, the built-in sample,
/// synthetic signals and ALSA capture implement it; a network stream can too.
///
/// `read` is called from the loop's capture thread only; `start` before the first read and
/// `stop` after the last, on the thread that runs the loop.
package protocol AudioSource: AnyObject {
    /// What it is, for logs and reports (`file in.wav`, `ALSA capture default`, ...).
    var description: String { get }
    /// Whether `read` blocks until the frame has really been captured (a sound card: the device
    /// is the clock). When false, frames are available at once and the loop paces them itself
    /// (real time: one every 80 ms on its clock; or as fast as possible).
    var isDevicePaced: Bool { get }
    /// Overruns the device recovered from so far (0 for anything that is not a device).
    /// Any thread may read it.
    var xrunCount: Int { get }
    /// Prepares to deliver frames.
    func start() throws
    /// Fills `frame` with the next `FrameTiming.samplesPerFrame` samples and returns true, or
    /// returns false at the end of the audio (a last partial frame comes padded with silence).
    /// Allocates nothing.
    func read(into frame: UnsafeMutablePointer<Float>) throws -> Bool
    /// Releases what `start` took.
    func stop()
}

extension AudioSource {
    package var xrunCount: Int { 0 }
    package func start() throws {}
    package func stop() {}
}
