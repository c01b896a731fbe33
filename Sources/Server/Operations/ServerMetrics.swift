import Engine
import Prometheus
import Synchronization

/// The daemon's Prometheus metrics: sessions, frames, per-stage latency, xruns and network bytes.
///
/// **Hot-path safety.** Every update method here is lock-free and allocation-free (relaxed atomic
/// adds: swift-prometheus' `Counter` and `Gauge` are atomics; histograms are `LatencyHistogram`),
/// so the compute thread may call them once per frame: `frameProcessed`, `inputFramesDropped`,
/// `outputFramesDropped`, `xruns(_:)`, `bytesReceived`, `bytesSent`, `recordProcessorStages`,
/// `record(_:)` (a `FrameRecord`), and `record(nanoseconds:)` on any histogram property.
/// Session bookkeeping (`sessionOpened`, `sessionClosed`, `sessionRejected`, `protocolError`) is
/// equally cheap but belongs on the event loop. Rendering (`emit(into:)`, `exposition()`)
/// allocates and formats: call it from the `/metrics` handler only.
package final class ServerMetrics: Sendable {
    /// Why a connection was turned away.
    package enum Rejection: String, Sendable, CaseIterable {
        /// `max_sessions` conversations were already open.
        case busy
        /// The daemon was draining for shutdown.
        case draining
        /// A foreign origin, or a missing or wrong token (`AccessPolicy`).
        case unauthorized
    }

    /// The stages a `ConversationSession` times, in its `stageNames` order.
    package static let processorStageNames = ConversationSession.stages
    /// The stages around the processor that the frame loop and the server time.
    package static let pipelineStageNames = ["capture_wait", "output_queue", "network_in", "network_out"]
    /// Histogram bounds for stage and frame latencies, seconds: fine below one 80 ms frame, coarse above.
    package static let defaultLatencyBoundsSeconds: [Double] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08,
        0.1, 0.12, 0.16, 0.2, 0.3, 0.5, 1,
    ]

    /// The registry holding the counters and gauges (add your own metrics here; they are emitted too).
    package let registry: PrometheusCollectorRegistry
    /// Processor stage names in the order `recordProcessorStages` expects.
    package let processorStageNames: [String]
    /// One histogram per stage: the processor's stages, then `pipelineStageNames`.
    package let stages: [LatencyHistogram]
    /// Time a frame waited in the input queue (capture to compute start).
    package let captureWait: LatencyHistogram
    /// Time from output queued to handed to the sink.
    package let outputQueue: LatencyHistogram
    /// Time from a client's audio arriving on the socket to its frame entering the input queue.
    package let networkIn: LatencyHistogram
    /// Time from a frame's output leaving the frame loop to its bytes written to the socket.
    package let networkOut: LatencyHistogram
    /// The measured end-to-end latency of frames whose audio reached the sink.
    package let frameLatency: LatencyHistogram
    /// `moshi serve`: time from the client's audio that completed a frame arriving on the
    /// socket to the reply's audio for that frame handed to the socket (the model's compute plus
    /// what the network path adds).
    package let replyLag: LatencyHistogram

    private let openSessionCount = Atomic<Int>(0)
    private let sessionsOpen: Gauge
    private let sessionsStarted: Counter
    private let rejected: [Counter]  // Rejection.allCases order
    private let protocolErrors: Counter
    private let framesProcessed: Counter
    private let framesLate: Counter
    private let droppedInput: Counter
    private let droppedOutput: Counter
    private let xrunCount: Counter
    private let bytesIn: Counter
    private let bytesOut: Counter

    private static let stageFamily = "moshi_stage_latency_seconds"
    private static let frameFamily = "moshi_frame_latency_seconds"
    private static let replyLagFamily = "moshi_reply_lag_seconds"

    /// Creates the metrics. `processorStageNames` comes from the `FrameProcessor` the daemon serves.
    package init(processorStageNames: [String] = ServerMetrics.processorStageNames,
                latencyBoundsSeconds: [Double] = ServerMetrics.defaultLatencyBoundsSeconds) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        self.processorStageNames = processorStageNames
        let stages = (processorStageNames + Self.pipelineStageNames).map {
            LatencyHistogram(name: Self.stageFamily, labels: [("stage", $0)], upperBoundsSeconds: latencyBoundsSeconds)
        }
        self.stages = stages
        let pipeline = stages.suffix(Self.pipelineStageNames.count).map { $0 }
        captureWait = pipeline[0]
        outputQueue = pipeline[1]
        networkIn = pipeline[2]
        networkOut = pipeline[3]
        frameLatency = LatencyHistogram(name: Self.frameFamily, upperBoundsSeconds: latencyBoundsSeconds)
        replyLag = LatencyHistogram(name: Self.replyLagFamily, upperBoundsSeconds: latencyBoundsSeconds)

        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "moshi", metricName: metric, unitName: unit, helpText: help)
        }
        let rejectedName = name("sessions_rejected", "total",
                                "Connections turned away (busy: max_sessions reached; draining: shutting down).")
        let droppedName = name("frames_dropped", "total", "Frames dropped: input never processed, or output never delivered.")
        let bytesName = name("network_bytes", "total", "Bytes read from (in) and written to (out) client sockets.")
        sessionsOpen = registry.makeGauge(descriptor: name("sessions", "open", "Conversations open now."))
        sessionsStarted = registry.makeCounter(descriptor: name("sessions_started", "total", "Conversations started."))
        rejected = Rejection.allCases.map { registry.makeCounter(descriptor: rejectedName, labels: [("reason", $0.rawValue)]) }
        protocolErrors = registry.makeCounter(descriptor: name("protocol_errors", "total",
                                                               "Connections closed for malformed or oversized input."))
        framesProcessed = registry.makeCounter(descriptor: name("frames_processed", "total", "80 ms frames run through the model."))
        framesLate = registry.makeCounter(descriptor: name("frames_late", "total", "Processed frames finished after their deadline."))
        droppedInput = registry.makeCounter(descriptor: droppedName, labels: [("direction", "input")])
        droppedOutput = registry.makeCounter(descriptor: droppedName, labels: [("direction", "output")])
        xrunCount = registry.makeCounter(descriptor: name("xruns", "total", "ALSA overruns and underruns."))
        bytesIn = registry.makeCounter(descriptor: bytesName, labels: [("direction", "in")])
        bytesOut = registry.makeCounter(descriptor: bytesName, labels: [("direction", "out")])
    }

    // MARK: Sessions (event loop)

    /// A conversation started.
    package func sessionOpened() {
        openSessionCount.add(1, ordering: .relaxed)
        sessionsOpen.increment()
        sessionsStarted.increment()
    }

    /// A conversation ended (call once per `sessionOpened`).
    package func sessionClosed() {
        openSessionCount.subtract(1, ordering: .relaxed)
        sessionsOpen.decrement()
    }

    /// A connection was turned away.
    package func sessionRejected(_ reason: Rejection) {
        rejected[Rejection.allCases.firstIndex(of: reason)!].increment()
    }

    /// A connection was closed for bad input.
    package func protocolError() { protocolErrors.increment() }

    /// Conversations open now.
    package var openSessions: Int { openSessionCount.load(ordering: .relaxed) }

    // MARK: Frames (hot-path safe)

    /// A frame went through the processor.
    @inline(__always)
    package func frameProcessed(late: Bool) {
        framesProcessed.increment()
        if late { framesLate.increment() }
    }

    /// Input frames that were never processed.
    @inline(__always)
    package func inputFramesDropped(_ count: Int = 1) { if count > 0 { droppedInput.increment(by: Int64(count)) } }

    /// Computed frames whose output was never delivered.
    @inline(__always)
    package func outputFramesDropped(_ count: Int = 1) { if count > 0 { droppedOutput.increment(by: Int64(count)) } }

    /// Device overruns or underruns.
    @inline(__always)
    package func xruns(_ count: Int = 1) { if count > 0 { xrunCount.increment(by: Int64(count)) } }

    /// Bytes read from a client socket.
    @inline(__always)
    package func bytesReceived(_ count: Int) { if count > 0 { bytesIn.increment(by: Int64(count)) } }

    /// Bytes written to a client socket.
    @inline(__always)
    package func bytesSent(_ count: Int) { if count > 0 { bytesOut.increment(by: Int64(count)) } }

    /// Records the processor's stage times of one frame, `processorStageNames.count` values in that
    /// order (the `stageNanoseconds` buffer `FrameProcessor.process` filled).
    @inline(__always)
    package func recordProcessorStages(_ stageNanoseconds: UnsafePointer<UInt64>) {
        for index in 0..<processorStageNames.count {
            stages[index].record(nanoseconds: stageNanoseconds[index])
        }
    }

    /// The histogram of a stage by name (resolve once, off the hot path).
    package func stage(named name: String) -> LatencyHistogram? {
        let names = processorStageNames + Self.pipelineStageNames
        return names.firstIndex(of: name).map { stages[$0] }
    }

    /// Everything one frame record says: processed/late/dropped counts, capture wait, output queue,
    /// processor stages and end-to-end latency. Feed it the loop's `.frame` events, and do not also
    /// call `frameProcessed`/`inputFramesDropped`/`outputFramesDropped` for the same frames.
    package func record(_ frame: FrameRecord) {
        switch frame.outcome {
        case .processed:
            frameProcessed(late: frame.isLate)
            if frame.outputDropped { outputFramesDropped() }
            let count = min(frame.stageNanoseconds.count, processorStageNames.count)
            for index in 0..<count { stages[index].record(nanoseconds: frame.stageNanoseconds[index]) }
            if let wait = frame.captureWait { captureWait.record(nanoseconds: wait) }
            if let queued = frame.outputQueue { outputQueue.record(nanoseconds: queued) }
            if let latency = frame.measuredLatency { frameLatency.record(nanoseconds: latency) }
        case .droppedByPolicy, .lostAtCapture:
            inputFramesDropped()
        }
    }

    /// Adds the xruns between two running totals of one frame loop (its `.status` events).
    package func recordStatus(from previous: FrameLoopStatus, to current: FrameLoopStatus) {
        xruns(current.xruns - previous.xruns)
    }

    // MARK: Rendering (the /metrics handler)

    /// Appends every metric in the Prometheus text format.
    package func emit(into buffer: inout [UInt8]) {
        registry.emit(into: &buffer)
        PrometheusText.appendHeader(name: Self.stageFamily, help: "Time per frame spent in each stage, seconds.",
                                    type: "histogram", into: &buffer)
        for stage in stages { stage.emit(into: &buffer) }
        PrometheusText.appendHeader(name: Self.frameFamily,
                                    help: "Measured frame latency, capture to sink, seconds (frames whose audio was delivered).",
                                    type: "histogram", into: &buffer)
        frameLatency.emit(into: &buffer)
        PrometheusText.appendHeader(name: Self.replyLagFamily,
                                    help: "moshi serve: client audio completing a frame arrived -> that frame's reply written, seconds.",
                                    type: "histogram", into: &buffer)
        replyLag.emit(into: &buffer)
    }

    /// The whole exposition as bytes.
    package func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16_384)
        emit(into: &buffer)
        return buffer
    }
}
