import Engine
import Foundation
import Mimi
import MoshiLM
import MoshiNumerics
import Settings

/// The weights a command runs, loaded once (language model, Mimi, text tokenizer) with the
/// compute pool they run on, and fresh conversations over them: each `session` has its own KV
/// caches, generator and Mimi state, while the weights stay shared, read-only views. The only
/// way commands get a conversation: `moshi run`, `profile` and `chat` make one session,
/// `moshi serve` one per connection.
final class LoadedModel: @unchecked Sendable {
    let lm: LoadedLM
    let mimi: MimiWeights
    let tokenizer: SentencePieceModel?
    let pool: ThreadPool?
    /// The command's options with the settings' defaults filled in.
    let options: ModelOptions

    /// Loads what `options` (over `settings`) select, reporting progress. With no weights named
    /// at all, `defaultToSynthetic` picks the synthetic model (`moshi profile`'s default).
    init(options: ModelOptions, settings: Settings, defaultToSynthetic: Bool = false, progress: (String) -> Void) throws {
        var options = options.resolved(settings)
        let namesWeights = options.lm != nil || options.mimi != nil || options.modelDir != nil || options.hfRepo != nil || options.random
        if defaultToSynthetic && !namesWeights { options.synthetic = true }
        self.options = options
        let threads = options.threadCount
        pool = threads > 1 ? ThreadPool(threads: threads) : nil
        Matmul.configureBLAS(threads: 1)
        let start = Date()
        let loader = ModelLoader(options: options, settings: settings)
        let files = try loader.selectFiles(needs: loader.neededParts)
        progress("loading the language model ...")
        lm = try loader.loadLM(files: files, pool: pool)
        progress("loading Mimi ...")
        let mimi = try loader.loadMimi(files: files)
        self.mimi = mimi.weights
        tokenizer = try loader.loadTokenizer(files: files)
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

    /// A lockstep batch of up to `capacity` conversations over these weights, on this model's
    /// pool: each tick reads every weight once for all of them (`moshi serve`'s sessions).
    func batchScheduler(capacity: Int) throws -> BatchScheduler {
        do {
            let lm = try LMBatch(weights: self.lm.weights, capacity: capacity, pool: pool, precision: options.precision,
                                 cachePrecision: options.cachePrecision)
            return try BatchScheduler(lm: lm, mimi: mimi)
        } catch {
            throw ModelLoadError("cannot make a batch of \(capacity) conversation(s): \(error)")
        }
    }

    /// A decoder of the text stream, when a tokenizer is at hand (one per conversation).
    func textDecoder() -> TextTokenDecoder? { tokenizer.map { SentencePieceTextDecoder(model: $0) } }

    /// Compute threads in use, the caller's included.
    var threads: Int { pool?.threads ?? 1 }

    /// One line for logs and reports: where the LM came from, memory, threads.
    func summary(of session: ConversationSession) -> String {
        "\(lm.source); \(session.generator.model.memorySummary); \(threads) compute thread(s)"
    }
}
