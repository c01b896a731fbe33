import Engine
import MoshiLM
import MoshiNumerics
import Server

/// The server's conversations: the weights loaded once (`LoadedModel`) and a fresh
/// `ConversationSession` per connection, with the client's sampling options over the server's.
final class SessionFactory: ConversationFactory, @unchecked Sendable {
    let model: LoadedModel
    var modelDescription: String { model.lm.source }

    init(model: LoadedModel) {
        self.model = model
    }

    /// A new conversation: the server's sampling with the client's `options` over it.
    func makeConversation(options client: SessionOptions) throws -> ServerConversation {
        var sampling = model.lm.sampling
        if !model.options.greedy {
            if let t = client.textTemperature { sampling.textTemperature = t }
            if let t = client.audioTemperature { sampling.audioTemperature = t }
            if let k = client.textTopK { sampling.textTopK = k }
            if let k = client.audioTopK { sampling.audioTopK = k }
        }
        return ServerConversation(processor: try model.session(sampling: sampling, seed: client.seed), textDecoder: model.textDecoder())
    }
}
