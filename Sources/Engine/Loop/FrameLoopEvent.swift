/// What a running `FrameLoop` tells its caller, on the thread that called `run`.
package enum FrameLoopEvent: Sendable {
    /// Text the model spoke with input frame `frame` (decoded from its text tokens).
    case text(String, frame: Int)
    /// A frame's record, once its output reached the sink (or it was dropped), in frame order.
    case frame(FrameRecord)
    /// Running totals, every `statusIntervalNanoseconds` and once at the end.
    case status(FrameLoopStatus)
}

/// Running totals of a `FrameLoop`, readable while it runs.
package struct FrameLoopStatus: Sendable, Equatable {
    /// Frames captured (or read) so far.
    package var capturedFrames = 0
    /// Frames run through the processor.
    package var processedFrames = 0
    /// Processed frames whose output was queued after their deadline.
    package var lateFrames = 0
    /// Input frames never processed (dropped by the late policy, or lost to a full input queue).
    package var droppedInputFrames = 0
    /// Computed frames never played (dropped by the late policy at a device sink, or lost to a
    /// full output queue).
    package var droppedOutputFrames = 0
    /// Times a device-paced sink needed a frame and none was ready (silence played instead),
    /// after the first audio.
    package var outputUnderflows = 0
    /// Device overruns and underruns (ALSA xruns) of the source and the sink.
    package var xruns = 0
    /// The latest frame's measured latency (capture to sink), milliseconds.
    package var lastLatencyMilliseconds = 0.0
    /// Loop clock time since the start, seconds.
    package var elapsedSeconds = 0.0

    /// Input and output frames dropped.
    package var droppedFrames: Int { droppedInputFrames + droppedOutputFrames }

    package init() {}
}
