import Engine
import Foundation
import MoshiLM
import MoshiNumerics
import Settings

extension ModelLoader {
    /// A whole conversation (Mimi + LM), with the text decoder when a tokenizer is at hand.
    func makeConversation(pool: ThreadPool?, progress: (String) -> Void) throws -> (session: ConversationSession, textDecoder: TextTokenDecoder?, description: String) {
        let loaded = try LoadedModel(loader: self, pool: pool, progress: progress)
        let session = try loaded.session()
        progress("memory: \(session.generator.model.memorySummary)")
        return (session, loaded.textDecoder(), loaded.lm.source)
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
