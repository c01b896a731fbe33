import Engine

/// Makes one conversation per connection. Implementations share the model weights between
/// conversations; each conversation has its own state. Called on a compute queue, never on
/// an event loop (making a conversation allocates its caches).
package protocol ConversationFactory: Sendable {
    /// A fresh conversation with `options` applied over the server's defaults.
    func makeConversation(options: SessionOptions) throws -> ServerConversation
    /// A short description of the model for the handshake ("synthetic LM ...").
    var modelDescription: String { get }
}

/// A factory whose conversations can be stepped together in one lockstep batch
/// (`BatchScheduler`): the server then makes one batch for all its sessions and each
/// connection joins it, so every weight is read once per tick for all of them.
package protocol BatchingConversationFactory: ConversationFactory {
    /// The batch the server's sessions join, for at most `capacity` of them (called once, at
    /// server start: it allocates every session's caches).
    func makeBatchScheduler(capacity: Int) throws -> BatchScheduler
    /// A new member of `batch` with `options` over the server's defaults, and the decoder of
    /// its text tokens when a tokenizer is at hand; nil when the batch is full.
    func join(_ batch: BatchScheduler, options: SessionOptions) -> (conversation: BatchedConversation, textDecoder: TextTokenDecoder?)?
}

/// One connection's model: the frame processor and, when a tokenizer is at hand, the decoder
/// of its text tokens. Used from one compute queue at a time.
package struct ServerConversation: @unchecked Sendable {
    package let processor: FrameProcessor
    package let textDecoder: TextTokenDecoder?

    package init(processor: FrameProcessor, textDecoder: TextTokenDecoder?) {
        self.processor = processor
        self.textDecoder = textDecoder
    }
}

extension ConversationFactory {
    /// Runs `frames` silent frames through a fresh conversation (processor and text decoder),
    /// as a session would, then drops it: the weights are read (paged in from their mapped
    /// files), the kernels' code and the allocator are warm before the first client. Returns
    /// the frames the model ran. Call it before reporting ready.
    @discardableResult
    package func warmUp(frames: Int) throws -> Int {
        guard frames > 0 else { return 0 }
        let conversation = try makeConversation(options: SessionOptions())
        let processor = conversation.processor
        processor.reset()
        conversation.textDecoder?.reset()
        let silence = [Float](repeating: 0, count: FrameTiming.samplesPerFrame)
        var output = [Float](repeating: 0, count: FrameTiming.samplesPerFrame)
        var stages = [UInt64](repeating: 0, count: max(1, processor.stageNames.count))
        for _ in 0..<frames {
            let result = silence.withUnsafeBufferPointer { input in
                output.withUnsafeMutableBufferPointer { out in
                    stages.withUnsafeMutableBufferPointer { processor.process(input.baseAddress!, output: out.baseAddress!, stageNanoseconds: $0.baseAddress!) }
                }
            }
            if let token = result.textToken { _ = conversation.textDecoder?.decode(token) }
        }
        return frames
    }
}
