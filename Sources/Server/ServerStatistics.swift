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

    public init() {}

    /// The counters now.
    public var snapshot: Snapshot { state.withLock { $0 } }

    func update(_ body: (inout Snapshot) -> Void) { state.withLock { body(&$0) } }
    func addFrame(computeNanoseconds: UInt64) { update { $0.frames += 1; $0.computeNanoseconds += computeNanoseconds } }
    func addCodecNanoseconds(_ ns: UInt64) { update { $0.codecNanoseconds += ns } }
    func addConcealedFrame() { update { $0.concealedFrames += 1 } }
}
