import Engine
import Foundation
import MoshiLM
import Numerics
import Settings

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
        if lm.synthetic { progress("NOTE: \(options.random ? "random" : "synthetic") weights: the model's audio is noise and its text meaningless; the timings are real.") }
        let decoder: TextTokenDecoder? = tokenizer.map { SentencePieceTextDecoder(model: $0) }
        return (session, decoder, lm.source)
    }
}

/// The conversation `moshi profile` and `moshi chat` run: what `options` select, loaded with
/// the settings' defaults. With no weights named at all, `defaultToSynthetic` picks the
/// synthetic model (the default of `moshi profile`).
func makeConversation(_ options: ModelOptions, settings: Settings, defaultToSynthetic: Bool = false,
                      progress: (String) -> Void) throws -> (processor: FrameProcessor, describe: String, textDecoder: TextTokenDecoder?) {
    var options = options.resolved(settings)
    let namesWeights = options.lm != nil || options.mimi != nil || options.modelDir != nil || options.hfRepo != nil || options.random
    if defaultToSynthetic && !namesWeights { options.synthetic = true }
    let threads = options.threadCount
    let pool = threads > 1 ? ThreadPool(threads: threads) : nil
    let loaded = try ModelLoader(options: options, settings: settings).makeConversation(pool: pool, progress: progress)
    let model = loaded.session.generator.model
    let describe = "\(loaded.description); \(model.memorySummary); \(threads) compute thread(s)"
    return (loaded.session, describe, loaded.textDecoder)
}
