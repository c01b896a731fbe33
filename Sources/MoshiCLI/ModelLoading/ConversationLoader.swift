import Engine
import Foundation
import MoshiLM
import Numerics

extension ModelLoader {
    /// A whole conversation (Mimi + LM), with the text decoder when a tokenizer is at hand.
    func makeConversation(pool: ThreadPool?, progress: (String) -> Void) throws -> (session: ConversationSession, textDecoder: TextTokenDecoder?, description: String) {
        Matmul.configureBLAS(threads: 1)
        progress("loading the language model ...")
        let start = Date()
        let lm = try loadLM(pool: pool)
        let model = try LMModel(weights: lm.weights, pool: pool, precision: options.precision, cachePrecision: options.cachePrecision)
        progress("language model: \(lm.source); \(model.memorySummary)")
        progress("loading Mimi ...")
        let mimi = try loadMimi()
        let tokenizer = try loadTokenizer()
        let generator = LMGenerator(model: model, sampling: lm.sampling, seed: options.seed)
        let session: ConversationSession
        do { session = try ConversationSession(generator: generator, mimi: mimi.weights) } catch { throw ModelLoadError(error.description) }
        progress(String(format: "loaded in %.1f s: Mimi %@, tokenizer %@", Date().timeIntervalSince(start), mimi.source, tokenizer == nil ? "none (no transcript)" : "yes"))
        if lm.synthetic { progress("NOTE: synthetic weights: the model's audio is noise and its text meaningless; the timings are real.") }
        let decoder: TextTokenDecoder? = tokenizer.map { SentencePieceTextDecoder(model: $0) }
        return (session, decoder, lm.source)
    }
}
