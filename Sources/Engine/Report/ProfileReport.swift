/// Everything a frame loop measured, with its renderings: a terminal table (`table()`), one
/// JSON object (`json()`), a Chrome trace (`chromeTrace()`) and a self-contained HTML page
/// (`html()`). Docs/LATENCY.md defines every figure.
public struct ProfileReport: Sendable {
    /// What ran (the model), and any caveat (e.g. synthetic weights) in `notes`.
    public var processor: String
    public var source: String
    public var sink: String
    /// `real-time` or `as-fast-as-possible`.
    public var pacing: String
    /// `drop-oldest:2`, ...
    public var latePolicy: String
    /// One frame period plus the slack: the deadline after capture, milliseconds.
    public var deadlineMilliseconds: Double
    /// Frames captured (read from the source).
    public var frames: Int
    public var processedFrames: Int
    /// Processed frames whose output was queued after their deadline.
    public var lateFrames: Int
    public var droppedInputFrames: Int
    public var droppedOutputFrames: Int
    /// Device-paced sinks only: periods played as silence because no frame was ready.
    public var outputUnderflows: Int
    /// ALSA xruns of the source and sink.
    public var xruns: Int
    /// Compute time over audio time of the processed frames (below 1: faster than real time).
    public var rtf: Double
    /// Wall-clock duration of the run, seconds.
    public var wallSeconds: Double
    /// Loop-clock duration of the run, seconds (equals the wall time on the real clock).
    public var clockSeconds: Double
    /// The model's algorithmic latency: the 80 ms frame plus 80 ms of acoustic delay.
    public var algorithmicLatencyMilliseconds: Double
    /// Capture to handed to the sink, frames with audio.
    public var measuredLatency: StageSummary
    /// Algorithmic plus measured latency.
    public var endToEnd: StageSummary
    /// Compute start to output queued (all processor stages and the loop's bookkeeping).
    public var compute: StageSummary
    /// `capture_wait`, the processor's stages in order, `output_queue`.
    public var stages: [StageSummary]
    /// The processor's stage names (the middle of `stages`).
    public var processorStageNames: [String]
    /// Per-frame records of the last frames (up to the loop's record capacity), in order.
    public var records: [FrameRecord]
    /// The text the model spoke.
    public var transcript: String
    /// What went wrong while running (a device that vanished, a full disk).
    public var failures: [String]
    /// Caveats to print with the figures.
    public var notes: [String]
    /// `SCHED_FIFO` for the loop's threads: "granted", "refused: <reason>" or "not requested".
    public var realtimePriority: String
    /// Heap allocations of the loop's threads in the steady state, when the counting allocator
    /// was preloaded (nil otherwise).
    public var allocations: AllocationSummary?

    /// Dropped input and output frames.
    public var droppedFrames: Int { droppedInputFrames + droppedOutputFrames }
    /// Audio time captured, seconds.
    public var audioSeconds: Double { Double(frames) * Double(FrameTiming.frameDurationNanoseconds) / 1e9 }

    /// The names of the loop's own stages around the processor's.
    public static let captureWaitStage = "capture_wait"
    public static let outputQueueStage = "output_queue"
}
