/// What happened to one captured frame. Times are nanoseconds on the loop's clock since the
/// loop started (Docs/LATENCY.md defines each).
package struct FrameRecord: Sendable, Equatable {
    /// What became of the frame.
    package enum Outcome: String, Sendable, Equatable {
        /// Run through the processor.
        case processed
        /// Dropped from the input queue by the late policy.
        case droppedByPolicy = "dropped_by_policy"
        /// Lost because the input queue was full when it was captured.
        case lostAtCapture = "lost_at_capture"
    }

    /// The frame's number in capture order, from 0.
    package var index: Int
    package var outcome: Outcome
    /// When the frame was complete: its last sample captured (device) or its 80 ms tick
    /// (real-time pacing of a file), or when compute took it (as-fast-as-possible pacing).
    package var captureTime: UInt64
    /// When compute started it (processed frames).
    package var startTime: UInt64?
    /// When compute finished it and queued the output (processed frames).
    package var doneTime: UInt64?
    /// When the playback thread handed its output to the sink (or dropped it).
    package var deliveredTime: UInt64?
    /// The processor's stage times, in `stageNames` order (processed frames).
    package var stageNanoseconds: [UInt64]
    /// Whether the processor produced audio for it.
    package var producedAudio: Bool
    /// Whether `doneTime` came after the deadline (capture + frame period + slack).
    package var isLate: Bool
    /// Whether its computed output never reached the sink (late policy or full output queue).
    package var outputDropped: Bool

    package init(index: Int, outcome: Outcome, captureTime: UInt64, startTime: UInt64? = nil, doneTime: UInt64? = nil,
                deliveredTime: UInt64? = nil, stageNanoseconds: [UInt64] = [], producedAudio: Bool = false,
                isLate: Bool = false, outputDropped: Bool = false) {
        self.index = index
        self.outcome = outcome
        self.captureTime = captureTime
        self.startTime = startTime
        self.doneTime = doneTime
        self.deliveredTime = deliveredTime
        self.stageNanoseconds = stageNanoseconds
        self.producedAudio = producedAudio
        self.isLate = isLate
        self.outputDropped = outputDropped
    }

    /// Capture to compute start: time spent waiting in the input queue.
    package var captureWait: UInt64? { startTime.map { $0 &- captureTime } }
    /// Compute start to output queued.
    package var compute: UInt64? { startTime.flatMap { start in doneTime.map { $0 &- start } } }
    /// Output queued to handed to the sink.
    package var outputQueue: UInt64? { doneTime.flatMap { done in outputDropped ? nil : deliveredTime.map { $0 &- done } } }
    /// The measured part of the end-to-end latency: capture to handed to the sink, for frames
    /// whose audio reached the sink.
    package var measuredLatency: UInt64? {
        guard outcome == .processed, producedAudio, !outputDropped, let deliveredTime else { return nil }
        return deliveredTime &- captureTime
    }
}
