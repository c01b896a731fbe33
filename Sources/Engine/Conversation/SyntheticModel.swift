import Mimi
import MoshiLM
import MoshiNumerics

/// The synthetic model (`--synthetic`, `moshi profile`'s default): the real Mimi architecture and
/// a language model with Moshi's structure (`LMConfig.synthetic`), with random weights from a
/// fixed seed, built in memory at start-up. The same on every machine; no download. Its audio is
/// noise and its text meaningless; its timings are those of a real model of its size.
package enum SyntheticModel {
    /// The seed of every synthetic weight.
    package static let seed: UInt64 = 20_240_917

    /// The language model's weights (bf16, PyTorch layout), filled on `pool`'s threads.
    package static func languageModel(pool: ThreadPool? = nil) throws -> LMWeights {
        let config = LMConfig.synthetic
        return try LMWeights(store: LMRandomCheckpoint.make(config: config, format: .bf16, seed: seed, pool: pool), config: config)
    }

    /// Mimi with random weights of the official shapes, using `codebooks` codebooks.
    package static func mimi(codebooks: Int = 8) throws -> MimiWeights {
        let config = MimiConfig.official(codebooks: codebooks)
        return try MimiWeights(store: MimiRandomCheckpoint.make(config: config, seed: seed), config: config)
    }

    /// A whole conversation on the synthetic model.
    package static func session(pool: ThreadPool? = nil, sampling: LMSampling = .referenceDefaults, samplingSeed: UInt64 = 42) throws -> ConversationSession {
        let model = try LMModel(weights: languageModel(pool: pool), pool: pool)
        return try ConversationSession(generator: LMGenerator(model: model, sampling: sampling, seed: samplingSeed), mimi: mimi())
    }
}
