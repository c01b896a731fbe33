/// How a `FrameLoop` runs.
package struct FrameLoopConfiguration: Sendable, Equatable {
    /// How frames from a source that is not device-paced are fed to compute.
    package enum Pacing: String, Sendable, Equatable {
        /// One frame every 80 ms on the loop's clock, as a microphone would deliver them.
        case realTime = "real-time"
        /// Each frame as soon as compute is ready for it; nothing is dropped. A frame's
        /// reference time is when compute took it, so "late" means compute took longer than a
        /// frame period (plus the slack).
        case asFastAsPossible = "as-fast-as-possible"
    }

    /// Real time (default) or as fast as possible.
    package var pacing = Pacing.realTime
    /// What happens when compute falls behind (real-time pacing only).
    package var latePolicy = LatePolicy.default
    /// A frame is late when its output is queued later than its capture time plus one frame
    /// period plus this slack. Default 0: compute must finish within one frame of capture.
    package var deadlineSlackNanoseconds: UInt64 = 0
    /// Stop after capturing this many frames (nil: when the source ends or on `requestStop`).
    package var maxFrames: Int?
    /// Frames of silence run through the processor (then `reset`) before the loop starts, so
    /// the first real frame does not pay for first-touch costs.
    package var warmupFrames = 0
    /// Try `SCHED_FIFO` for the capture and playback threads (one log line when the system
    /// refuses; they then run at normal priority).
    package var realtimePriority = true
    /// Try `SCHED_FIFO` for the compute thread too (with `realtimePriority`). Off by default:
    /// the model's compute thread hands work to a thread pool whose workers run at normal
    /// priority, and a real-time thread that waits for them (spinning, then `sched_yield`,
    /// which only yields to its own priority) can keep them off its CPU. Turn it on when the
    /// processor computes on the one thread, or raises its workers as well.
    package var computeRealtimePriority = false
    /// Frames each of the input and output queues holds (allocated once).
    package var queueCapacity = 32
    /// Per-frame records kept for the trace, the HTML plot and `.frame` events: the last this
    /// many frames (histograms cover every frame). Default one hour.
    package var recordCapacity = 45_000
    /// How often `.status` events are delivered, in wall-clock nanoseconds.
    package var statusIntervalNanoseconds: UInt64 = 250_000_000

    package init() {}
}
