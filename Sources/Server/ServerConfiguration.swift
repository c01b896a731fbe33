import Engine

/// How `MoshiServer` listens and what it allows each connection.
public struct ServerConfiguration: Sendable {
    /// Address to bind; 127.0.0.1 unless told otherwise.
    public var host: String = "127.0.0.1"
    /// TCP port; 0 picks a free one (tests).
    public var port: Int = 8998
    /// Conversations at once; a client beyond them gets an error "server busy" and is closed.
    public var maximumSessions: Int = 1
    /// A connection that sends nothing for this long is closed (seconds; 0 disables).
    public var idleTimeoutSeconds: Double = 60
    /// The largest framed-protocol payload (and handshake JSON) accepted.
    public var maximumMessageBytes: Int = FramedProtocol.defaultMaximumPayload
    /// Outgoing bytes queued per connection above which the reply's audio is dropped
    /// (text, errors and control still go out); audio flows again below half of it.
    public var sendQueueHighWaterBytes: Int = 64 * 1024
    /// A client that keeps the send queue above the high-water mark this long is closed (seconds).
    public var slowReaderTimeoutSeconds: Double = 10
    /// Input items (packets or Ogg chunks) queued for the compute queue before the server stops
    /// reading from the socket (TCP back-pressure on a client sending faster than real time).
    public var maximumInputBacklog: Int = 16
    /// How far a client's audio may run ahead of real time (seconds): from its first audio on,
    /// audio received beyond the time elapsed plus this is refused with an error and the
    /// connection closed, never queued.
    public var maximumInputAheadSeconds: Double = 2
    /// With no input audio for this long after audio started, the server conceals the missing
    /// frames (Opus PLC) so the conversation keeps its pace (milliseconds; 0 disables).
    public var jitterAllowanceMilliseconds: Int = 240
    /// Serial compute queues the sessions share (frames of sessions on one queue take turns);
    /// not used when sessions are batched (one queue runs the batch).
    public var computeQueues: Int = 1
    /// Step every session's frame together in one lockstep batch when the factory can
    /// (`BatchingConversationFactory`): each weight read once per tick for all sessions.
    public var batching: Bool = true
    /// What a session does when the model falls behind its input (any protocol): frames whose
    /// time has come wait, and the oldest the policy gives up on are dropped and counted.
    public var latePolicy: LatePolicy = .default
    /// Event-loop threads for the sockets.
    public var eventLoopThreads: Int = 1
    /// `SO_SNDBUF` for session sockets (nil: the system's); tests make it small.
    public var socketSendBufferBytes: Int? = nil
    /// The certificate and key for TLS on the same port (nil: plain TCP only). A client that
    /// starts with a TLS ClientHello gets TLS; any protocol can run inside it.
    public var tls: TLSIdentity? = nil
    /// How long a graceful shutdown waits for sessions to finish their current frame and close.
    public var drainTimeoutSeconds: Double = 5
    /// Who may open a conversation: the WebSocket Origin check and the optional token.
    public var access = AccessPolicy()
    /// Listen on a non-loopback address without a token anyway (a trusted network). Without it,
    /// `MoshiServer` refuses such a configuration (`ServerExposureError`).
    public var allowsUnauthenticatedNetwork = false

    /// The reason this configuration must not start: a non-loopback address with no token
    /// (unless `allowsUnauthenticatedNetwork`); nil when it may.
    public var exposureError: ServerExposureError? {
        guard !AccessPolicy.isLoopback(host: host), !access.requiresToken, !allowsUnauthenticatedNetwork else { return nil }
        return ServerExposureError(host: host)
    }

    public init() {}
}
