import Engine
import Foundation
import Mimi
import MoshiLM
import MoshiNumerics

/// The weights a command runs, loaded once (language model, Mimi, text tokenizer), and fresh
/// conversations over them: each `session` has its own KV caches, generator and Mimi state,
/// while the weights stay shared, read-only views. `moshi run`, `profile` and `chat` make one
/// session; `moshi serve` one per connection.
final class LoadedModel: @unchecked Sendable {
    let lm: LoadedLM
    let mimi: MimiWeights
    let tokenizer: SentencePieceModel?
    let pool: ThreadPool?
    let options: ModelOptions

    /// Loads what the loader's options name, reporting progress.
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
        progress(String(format: "loaded in %.1f s: %@; Mimi %@; tokenizer %@", Date().timeIntervalSince(start), lm.source, mimi.source,
                        tokenizer == nil ? "none (no transcript)" : "yes"))
        if lm.synthetic {
            progress("NOTE: \(options.random ? "random" : "synthetic") weights: the model's audio is noise and its text meaningless; the timings are real.")
        }
    }

    /// A new conversation with `sampling` (default: the model's) and `seed` (default: --seed).
    func session(sampling: LMSampling? = nil, seed: UInt64? = nil) throws -> ConversationSession {
        let model = try LMModel(weights: lm.weights, pool: pool, precision: options.precision, cachePrecision: options.cachePrecision)
        let generator = LMGenerator(model: model, sampling: sampling ?? lm.sampling, seed: seed ?? options.seed)
        do { return try ConversationSession(generator: generator, mimi: mimi) } catch { throw ModelLoadError(error.description) }
    }

    /// A decoder of the text stream, when a tokenizer is at hand (one per conversation).
    func textDecoder() -> TextTokenDecoder? { tokenizer.map { SentencePieceTextDecoder(model: $0) } }
}
