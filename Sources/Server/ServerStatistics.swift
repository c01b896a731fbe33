import Engine
import Synchronization

/// The server's counters, safe to read from any thread (for logs, tests and a metrics endpoint).
package final class ServerStatistics: Sendable {
    /// A copy of the counters at one moment.
    package struct Snapshot: Sendable, Equatable {
        /// Sessions open now.
        package var sessionsActive = 0
        /// Sessions accepted since start.
        package var sessionsOpened = 0
        /// Connections refused because `maximumSessions` were open.
        package var sessionsRejected = 0
        /// Connections closed for a protocol error (garbage, oversized, truncated, non-Opus).
        package var protocolErrors = 0
        /// Frames the model ran.
        package var frames = 0
        /// Frames of missing input concealed (Opus PLC or silence).
        package var concealedFrames = 0
        /// Frames whose reply came more than a frame (80 ms) after the frame was there to be run.
        package var lateFrames = 0
        /// Input frames dropped by the late policy (the model had fallen behind them).
        package var droppedInputFrames = 0
        /// Outgoing audio messages dropped because the client read too slowly.
        package var droppedAudioMessages = 0
        /// Bytes received and sent on session connections.
        package var bytesIn = 0
        package var bytesOut = 0
        /// Time in the model's `process` calls.
        package var computeNanoseconds: UInt64 = 0
        /// Time in the network path's own work per session: Opus decode, encode, Ogg framing, text decode.
        package var codecNanoseconds: UInt64 = 0

        /// Mean network-path (codec) time per frame, in milliseconds.
        package var codecMillisecondsPerFrame: Double { frames == 0 ? 0 : Double(codecNanoseconds) / Double(frames) / 1e6 }
    }

    // Relaxed atomics: the compute queues and event loops add, anyone reads; no lock per frame.
    private let sessionsActive = Atomic<Int>(0)
    private let sessionsOpened = Atomic<Int>(0)
    private let sessionsRejected = Atomic<Int>(0)
    private let protocolErrors = Atomic<Int>(0)
    private let frames = Atomic<Int>(0)
    private let concealedFrames = Atomic<Int>(0)
    private let lateFrames = Atomic<Int>(0)
    private let droppedInput = Atomic<Int>(0)
    private let droppedAudioMessages = Atomic<Int>(0)
    private let bytesIn = Atomic<Int>(0)
    private let bytesOut = Atomic<Int>(0)
    private let computeNanoseconds = Atomic<UInt64>(0)
    private let codecNanoseconds = Atomic<UInt64>(0)
    /// The same events for Prometheus (`/metrics`): lock-free counters and histograms.
    package let metrics: ServerMetrics

    package init(metrics: ServerMetrics = ServerMetrics()) { self.metrics = metrics }

    /// The counters now (each read on its own: a snapshot taken while frames run may mix
    /// counts from either side of a frame).
    package var snapshot: Snapshot {
        var s = Snapshot()
        s.sessionsActive = sessionsActive.load(ordering: .relaxed)
        s.sessionsOpened = sessionsOpened.load(ordering: .relaxed)
        s.sessionsRejected = sessionsRejected.load(ordering: .relaxed)
        s.protocolErrors = protocolErrors.load(ordering: .relaxed)
        s.frames = frames.load(ordering: .relaxed)
        s.concealedFrames = concealedFrames.load(ordering: .relaxed)
        s.lateFrames = lateFrames.load(ordering: .relaxed)
        s.droppedInputFrames = droppedInput.load(ordering: .relaxed)
        s.droppedAudioMessages = droppedAudioMessages.load(ordering: .relaxed)
        s.bytesIn = bytesIn.load(ordering: .relaxed)
        s.bytesOut = bytesOut.load(ordering: .relaxed)
        s.computeNanoseconds = computeNanoseconds.load(ordering: .relaxed)
        s.codecNanoseconds = codecNanoseconds.load(ordering: .relaxed)
        return s
    }

    /// One frame through the model; `stages` holds the processor's per-stage times; `late`:
    /// its reply came more than a frame after the frame was there to be run.
    func addFrame(computeNanoseconds ns: UInt64, stages: UnsafePointer<UInt64>, late: Bool) {
        frames.add(1, ordering: .relaxed)
        computeNanoseconds.add(ns, ordering: .relaxed)
        if late { lateFrames.add(1, ordering: .relaxed) }
        metrics.frameProcessed(late: late)
        metrics.recordProcessorStages(stages)
    }
    /// Input frames the late policy dropped (the model had fallen behind them).
    func droppedInputFrames(_ count: Int) {
        droppedInput.add(count, ordering: .relaxed)
        metrics.inputFramesDropped(count)
    }
    /// Time spent decoding what came in (Opus or Ogg) and encoding what goes out.
    func addCodecNanoseconds(_ ns: UInt64, incoming: Bool) {
        codecNanoseconds.add(ns, ordering: .relaxed)
        (incoming ? metrics.networkIn : metrics.networkOut).record(nanoseconds: ns)
    }
    /// A reply's audio was handed to the socket `lagNanoseconds` after the input that completed its frame arrived.
    func replied(lagNanoseconds: UInt64) { metrics.replyLag.record(nanoseconds: lagNanoseconds) }
    func received(_ bytes: Int) { bytesIn.add(bytes, ordering: .relaxed); metrics.bytesReceived(bytes) }
    func sent(_ bytes: Int) { bytesOut.add(bytes, ordering: .relaxed); metrics.bytesSent(bytes) }
    func protocolError() { protocolErrors.add(1, ordering: .relaxed); metrics.protocolError() }
    func droppedAudio() { droppedAudioMessages.add(1, ordering: .relaxed); metrics.outputFramesDropped(1) }
    func sessionRejected(_ reason: ServerMetrics.Rejection = .busy) { sessionsRejected.add(1, ordering: .relaxed); metrics.sessionRejected(reason) }
    func sessionOpened() { sessionsOpened.add(1, ordering: .relaxed); sessionsActive.add(1, ordering: .relaxed); metrics.sessionOpened() }
    func sessionClosed() { sessionsActive.subtract(1, ordering: .relaxed); metrics.sessionClosed() }
    func addConcealedFrame() { concealedFrames.add(1, ordering: .relaxed) }
}
