import Engine
import MoshiLM
import MoshiNumerics
import Server

/// The server's conversations: the weights loaded once (`LoadedModel`) and a fresh
/// `ConversationSession` per connection, with the client's sampling options over the server's.
final class SessionFactory: BatchingConversationFactory, @unchecked Sendable {
    let model: LoadedModel
    var modelDescription: String { model.lm.source }

    init(model: LoadedModel) {
        self.model = model
    }

    /// A new conversation: the server's sampling with the client's `options` over it.
    func makeConversation(options client: SessionOptions) throws -> ServerConversation {
        ServerConversation(processor: try model.session(sampling: sampling(client), seed: client.seed), textDecoder: model.textDecoder())
    }

    func makeBatchScheduler(capacity: Int) throws -> BatchScheduler {
        try model.batchScheduler(capacity: capacity)
    }

    func join(_ batch: BatchScheduler, options client: SessionOptions) -> (conversation: BatchedConversation, textDecoder: TextTokenDecoder?)? {
        guard let conversation = batch.open(sampling: sampling(client), seed: client.seed ?? model.options.seed) else { return nil }
        return (conversation, model.textDecoder())
    }

    /// The server's sampling with the client's options over it (none under --greedy).
    private func sampling(_ client: SessionOptions) -> LMSampling {
        var sampling = model.lm.sampling
        if !model.options.greedy {
            if let t = client.textTemperature { sampling.textTemperature = t }
            if let t = client.audioTemperature { sampling.audioTemperature = t }
            if let k = client.textTopK { sampling.textTopK = k }
            if let k = client.audioTopK { sampling.audioTopK = k }
        }
        return sampling
    }
}
