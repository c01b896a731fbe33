/// What a protocol decoder tells the `SessionHandler`: the protocol's bytes turned into the
/// events of one conversation. Decoders (`FramedSessionDecoder`, `OggSessionDecoder`,
/// `WebSocketSessionDecoder`) own the protocol's facts; the handler owns the session.
enum SessionEvent {
    /// The client asks for a conversation.
    case open(SessionRequest)
    /// Audio from the client, in the request's input container (an Opus packet, or Ogg bytes).
    case audio([UInt8])
    /// An application-level ping (the payload to echo, where the protocol echoes one).
    case ping([UInt8])
    /// The client reported an error of its own; the connection is closed, nothing is sent.
    case clientError(String)
    /// The decoder found a protocol error (the reason is sent where the protocol has room for it).
    case malformed(String)
    /// The client asked to close (a WebSocket Close): answer with the end of the stream and stop.
    case closeRequested
}

/// A request for a conversation, as a decoder reads it from its protocol.
struct SessionRequest {
    var options: SessionOptions
    var credential: Credential
    var input: AudioContainer
    var output: AudioContainer

    /// Where the client's token stands.
    enum Credential: Equatable {
        /// Checked before the session's protocol began (the WebSocket's HTTP upgrade).
        case checked
        /// The token the client presented (nil: none), to check against the server's access
        /// policy; `hint` says where this protocol carries one, for the refusal.
        case presented(String?, hint: String)
    }
}
