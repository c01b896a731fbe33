import Engine

/// How `MoshiServer` listens and what it allows each connection.
package struct ServerConfiguration: Sendable {
    /// Address to bind; 127.0.0.1 unless told otherwise.
    package var host: String = "127.0.0.1"
    /// TCP port; 0 picks a free one (tests).
    package var port: Int = 8998
    /// Conversations at once; a client beyond them gets an error "server busy" and is closed.
    package var maximumSessions: Int = 1
    /// A connection that sends nothing for this long is closed (seconds; 0 disables).
    package var idleTimeoutSeconds: Double = 60
    /// The largest framed-protocol payload (and handshake JSON) accepted.
    package var maximumMessageBytes: Int = FramedProtocol.defaultMaximumPayload
    /// Outgoing bytes queued per connection above which the reply's audio is dropped
    /// (text, errors and control still go out); audio flows again below half of it.
    package var sendQueueHighWaterBytes: Int = 64 * 1024
    /// A client that keeps the send queue above the high-water mark this long is closed (seconds).
    package var slowReaderTimeoutSeconds: Double = 10
    /// Input items (packets or Ogg chunks) queued for the compute queue before the server stops
    /// reading from the socket (TCP back-pressure on a client sending faster than real time).
    package var maximumInputBacklog: Int = 16
    /// How far a client's audio may run ahead of real time (seconds): from its first audio on,
    /// audio received beyond the time elapsed plus this is refused with an error and the
    /// connection closed, never queued.
    package var maximumInputAheadSeconds: Double = 2
    /// With no input audio for this long after audio started, the server conceals the missing
    /// frames (Opus PLC) so the conversation keeps its pace (milliseconds; 0 disables).
    package var jitterAllowanceMilliseconds: Int = 240
    /// Serial compute queues the sessions share (frames of sessions on one queue take turns);
    /// not used when sessions are batched (one queue runs the batch).
    package var computeQueues: Int = 1
    /// Step every session's frame together in one lockstep batch when the factory can
    /// (`BatchingConversationFactory`): each weight read once per tick for all sessions.
    package var batching: Bool = true
    /// What a session does when the model falls behind its input (any protocol): frames whose
    /// time has come wait, and the oldest the policy gives up on are dropped and counted.
    package var latePolicy: LatePolicy = .default
    /// Event-loop threads for the sockets.
    package var eventLoopThreads: Int = 1
    /// `SO_SNDBUF` for session sockets (nil: the system's); tests make it small.
    package var socketSendBufferBytes: Int? = nil
    /// The certificate and key for TLS on the same port (nil: plain TCP only). A client that
    /// starts with a TLS ClientHello gets TLS; any protocol can run inside it.
    package var tls: TLSIdentity? = nil
    /// How long a graceful shutdown waits for sessions to finish their current frame and close.
    package var drainTimeoutSeconds: Double = 5
    /// Who may open a conversation: the WebSocket Origin check and the optional token.
    package var access = AccessPolicy()
    /// Listen on a non-loopback address without a token anyway (a trusted network). Without it,
    /// `MoshiServer` refuses such a configuration (`ServerExposureError`).
    package var allowsUnauthenticatedNetwork = false

    /// The reason this configuration must not start: a non-loopback address with no token
    /// (unless `allowsUnauthenticatedNetwork`); nil when it may.
    package var exposureError: ServerExposureError? {
        guard !AccessPolicy.isLoopback(host: host), !access.requiresToken, !allowsUnauthenticatedNetwork else { return nil }
        return ServerExposureError(host: host)
    }

    package init() {}
}
