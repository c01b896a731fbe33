/// Everything a frame loop measured, with its renderings: a terminal table (`table()`), one
/// JSON object (`json()`), a Chrome trace (`chromeTrace()`) and a self-contained HTML page
/// (`html()`). Docs/LATENCY.md defines every figure.
package struct ProfileReport: Sendable {
    /// What ran (the model), and any caveat (e.g. synthetic weights) in `notes`.
    package var processor: String
    package var source: String
    package var sink: String
    /// `real-time` or `as-fast-as-possible`.
    package var pacing: String
    /// `drop-oldest:2`, ...
    package var latePolicy: String
    /// One frame period plus the slack: the deadline after capture, milliseconds.
    package var deadlineMilliseconds: Double
    /// Frames captured (read from the source).
    package var frames: Int
    package var processedFrames: Int
    /// Processed frames whose output was queued after their deadline.
    package var lateFrames: Int
    package var droppedInputFrames: Int
    package var droppedOutputFrames: Int
    /// Device-paced sinks only: periods played as silence because no frame was ready.
    package var outputUnderflows: Int
    /// ALSA xruns of the source and sink.
    package var xruns: Int
    /// Compute time over audio time of the processed frames (below 1: faster than real time).
    package var rtf: Double
    /// Wall-clock duration of the run, seconds.
    package var wallSeconds: Double
    /// Loop-clock duration of the run, seconds (equals the wall time on the real clock).
    package var clockSeconds: Double
    /// The model's algorithmic latency: the 80 ms frame plus 80 ms of acoustic delay.
    package var algorithmicLatencyMilliseconds: Double
    /// Capture to handed to the sink, frames with audio.
    package var measuredLatency: StageSummary
    /// Algorithmic plus measured latency.
    package var endToEnd: StageSummary
    /// Compute start to output queued (all processor stages and the loop's bookkeeping).
    package var compute: StageSummary
    /// `capture_wait`, the processor's stages in order, `output_queue`.
    package var stages: [StageSummary]
    /// The processor's stage names (the middle of `stages`).
    package var processorStageNames: [String]
    /// Per-frame records of the last frames (up to the loop's record capacity), in order.
    package var records: [FrameRecord]
    /// The text the model spoke.
    package var transcript: String
    /// What went wrong while running (a device that vanished, a full disk).
    package var failures: [String]
    /// Caveats to print with the figures.
    package var notes: [String]
    /// `SCHED_FIFO` for the loop's threads: "granted", "refused: <reason>" or "not requested".
    package var realtimePriority: String
    /// Heap allocations of the loop's threads in the steady state, when the counting allocator
    /// was preloaded (nil otherwise).
    package var allocations: AllocationSummary?

    /// Dropped input and output frames.
    package var droppedFrames: Int { droppedInputFrames + droppedOutputFrames }
    /// Audio time captured, seconds.
    package var audioSeconds: Double { Double(frames) * Double(FrameTiming.frameDurationNanoseconds) / 1e9 }

    /// The names of the loop's own stages around the processor's.
    package static let captureWaitStage = "capture_wait"
    package static let outputQueueStage = "output_queue"
}
