import Engine
import Foundation
import Mimi
import MoshiLM
import Numerics
import Server

/// The server's conversations: the weights (LM, Mimi, tokenizer) loaded once, and a fresh
/// `ConversationSession` (its own LM caches, generator and Mimi state) per connection.
/// The weights are read-only views shared by every conversation.
final class SessionFactory: ConversationFactory, @unchecked Sendable {
    let lm: LoadedLM
    let mimi: MimiWeights
    let tokenizer: SentencePieceModel?
    let pool: ThreadPool?
    let options: ModelOptions
    let modelDescription: String

    /// Loads the weights named by the loader's options, once.
    init(loader: ModelLoader, pool: ThreadPool?, progress: (String) -> Void) throws {
        Matmul.configureBLAS(threads: 1)
        let start = Date()
        progress("loading the language model ...")
        lm = try loader.loadLM(pool: pool)
        progress("loading Mimi ...")
        let mimi = try loader.loadMimi()
        self.mimi = mimi.weights
        tokenizer = try loader.loadTokenizer()
        self.pool = pool
        options = loader.options
        modelDescription = lm.source
        progress(String(format: "loaded in %.1f s: %@; Mimi %@; tokenizer %@", Date().timeIntervalSince(start), lm.source, mimi.source,
                        tokenizer == nil ? "none (no transcript)" : "yes"))
        if lm.synthetic { progress("NOTE: synthetic weights: the model's audio is noise and its text meaningless; the timings are real.") }
    }

    /// A new conversation: the server's sampling with the client's `options` over it.
    func makeConversation(options client: SessionOptions) throws -> ServerConversation {
        var sampling = lm.sampling
        if !options.greedy {
            if let t = client.textTemperature { sampling.textTemperature = t }
            if let t = client.audioTemperature { sampling.audioTemperature = t }
            if let k = client.textTopK { sampling.textTopK = k }
            if let k = client.audioTopK { sampling.audioTopK = k }
        }
        let model = try LMModel(weights: lm.weights, pool: pool, precision: options.precision, cachePrecision: options.cachePrecision)
        let generator = LMGenerator(model: model, sampling: sampling, seed: client.seed ?? options.seed)
        let session: ConversationSession
        do { session = try ConversationSession(generator: generator, mimi: mimi) } catch { throw ModelLoadError(error.description) }
        return ServerConversation(processor: session, textDecoder: tokenizer.map { SentencePieceTextDecoder(model: $0) })
    }
}
