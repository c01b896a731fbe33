import NIOCore

/// What the `SessionHandler` sends: one conversation's results, for a protocol encoder
/// (`FramedSessionEncoder`, `OggSessionEncoder`, `WebSocketSessionEncoder`) to put in its
/// protocol's bytes. `failure`, `end` and `disconnect` are terminal: the handler writes one of
/// them with a promise and closes the channel once it completes, so an encoder must complete
/// that promise after everything written before it (even when it has nothing to write).
enum SessionOutput {
    /// The conversation is ready (the model's description, for protocols whose handshake names it).
    case ready(model: String)
    /// Audio in the request's output container: one Opus packet, or Ogg pages.
    case audio(ByteBuffer)
    /// A piece of the model's text.
    case text(String)
    /// The Metadata message (JSON), where the protocol has room for it.
    case metadata([UInt8])
    /// The answer to a `SessionEvent.ping`.
    case pong([UInt8])
    /// The session failed or was refused; `protocolError` tells the client's fault from the server's.
    case failure(reason: String, protocolError: Bool)
    /// The reply stream ended normally (the client's input ended, the server drains, the client asked to close).
    case end
    /// The connection closes with nothing of the protocol's own to say (the client reported an
    /// error, or its input ended before a session opened).
    case disconnect
}

extension SessionOutput {
    /// The outputs that are one message of Kyutai's numbering with a payload (audio, text,
    /// metadata, the ping answer): `body` gets the kind and the payload, for the encoders of the
    /// framed and WebSocket protocols. Nil for the others (ready, failure, end, disconnect),
    /// whose messages differ per protocol.
    func withMessage(_ body: (MessageKind, UnsafeRawBufferPointer) -> Void) -> Void? {
        switch self {
        case .audio(let packet): packet.withUnsafeReadableBytes { body(.audio, $0) }
        case .text(var text): text.withUTF8 { body(.text, UnsafeRawBufferPointer($0)) }
        case .metadata(let json): json.withUnsafeBytes { body(.metadata, $0) }
        case .pong(let payload): payload.withUnsafeBytes { body(.ping, $0) }
        case .ready, .failure, .end, .disconnect: nil
        }
    }
}
