import Engine
import Synchronization

/// The server's counters, safe to read from any thread (for logs, tests and a metrics endpoint).
public final class ServerStatistics: Sendable {
    /// A copy of the counters at one moment.
    public struct Snapshot: Sendable, Equatable {
        /// Sessions open now.
        public var sessionsActive = 0
        /// Sessions accepted since start.
        public var sessionsOpened = 0
        /// Connections refused because `maximumSessions` were open.
        public var sessionsRejected = 0
        /// Connections closed for a protocol error (garbage, oversized, truncated, non-Opus).
        public var protocolErrors = 0
        /// Frames the model ran.
        public var frames = 0
        /// Frames of missing input concealed (Opus PLC or silence).
        public var concealedFrames = 0
        /// Outgoing audio messages dropped because the client read too slowly.
        public var droppedAudioMessages = 0
        /// Bytes received and sent on session connections.
        public var bytesIn = 0
        public var bytesOut = 0
        /// Time in the model's `process` calls.
        public var computeNanoseconds: UInt64 = 0
        /// Time in the network path's own work per session: Opus decode, encode, Ogg framing, text decode.
        public var codecNanoseconds: UInt64 = 0

        /// Mean network-path (codec) time per frame, in milliseconds.
        public var codecMillisecondsPerFrame: Double { frames == 0 ? 0 : Double(codecNanoseconds) / Double(frames) / 1e6 }
    }

    private let state = Mutex(Snapshot())
    /// The same events for Prometheus (`/metrics`): lock-free counters and histograms.
    public let metrics: ServerMetrics

    public init(metrics: ServerMetrics = ServerMetrics()) { self.metrics = metrics }


    /// The counters now.
    public var snapshot: Snapshot { state.withLock { $0 } }

    func update(_ body: (inout Snapshot) -> Void) { state.withLock { body(&$0) } }
    /// One frame through the model; `stages` holds the processor's per-stage times.
    func addFrame(computeNanoseconds: UInt64, stages: UnsafePointer<UInt64>) {
        update { $0.frames += 1; $0.computeNanoseconds += computeNanoseconds }
        metrics.frameProcessed(late: computeNanoseconds > FrameTiming.frameDurationNanoseconds)
        metrics.recordProcessorStages(stages)
    }
    /// Time spent decoding what came in (Opus or Ogg) and encoding what goes out.
    func addCodecNanoseconds(_ ns: UInt64, incoming: Bool) {
        update { $0.codecNanoseconds += ns }
        (incoming ? metrics.networkIn : metrics.networkOut).record(nanoseconds: ns)
    }
    /// A reply's audio was handed to the socket `lagNanoseconds` after the input that completed its frame arrived.
    func replied(lagNanoseconds: UInt64) { metrics.replyLag.record(nanoseconds: lagNanoseconds) }
    func received(_ bytes: Int) { update { $0.bytesIn += bytes }; metrics.bytesReceived(bytes) }
    func sent(_ bytes: Int) { update { $0.bytesOut += bytes }; metrics.bytesSent(bytes) }
    func protocolError() { update { $0.protocolErrors += 1 }; metrics.protocolError() }
    func droppedAudio() { update { $0.droppedAudioMessages += 1 }; metrics.outputFramesDropped(1) }
    func sessionRejected() { update { $0.sessionsRejected += 1 }; metrics.sessionRejected(.busy) }
    func sessionOpened() { update { $0.sessionsOpened += 1; $0.sessionsActive += 1 }; metrics.sessionOpened() }
    func sessionClosed() { update { $0.sessionsActive -= 1 }; metrics.sessionClosed() }
    func addConcealedFrame() { update { $0.concealedFrames += 1 } }
}
