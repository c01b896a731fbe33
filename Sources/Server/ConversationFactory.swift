import Engine

/// Makes one conversation per connection. Implementations share the model weights between
/// conversations; each conversation has its own state. Called on a compute queue, never on
/// an event loop (making a conversation allocates its caches).
public protocol ConversationFactory: Sendable {
    /// A fresh conversation with `options` applied over the server's defaults.
    func makeConversation(options: SessionOptions) throws -> ServerConversation
    /// A short description of the model for the handshake ("synthetic LM ...").
    var modelDescription: String { get }
}

/// One connection's model: the frame processor and, when a tokenizer is at hand, the decoder
/// of its text tokens. Used from one compute queue at a time.
public struct ServerConversation: @unchecked Sendable {
    public let processor: FrameProcessor
    public let textDecoder: TextTokenDecoder?

    public init(processor: FrameProcessor, textDecoder: TextTokenDecoder?) {
        self.processor = processor
        self.textDecoder = textDecoder
    }
}
