import Foundation
import MoshiNumerics

/// The hyper-parameters of a Moshi language model: Kyutai's `_lm_kwargs`
/// (`configs/moshi_7b_202409.json`, or the LM keys of a repository's `config.json`), with the
/// reference's rules for the sizes it derives.
package struct LMConfig: Sendable, Equatable {
    /// Activation of a gated feed-forward (`gating`): out = linear_out(act(first half) * second half).
    package typealias Activation = TransformerActivation

    /// Positional encoding of a transformer (`positional_embedding`, `depformer_pos_emb`).
    package enum PositionalEncoding: String, Sendable, Equatable {
        case rope, none
    }

    /// The depth transformer's own settings (`depformer_*` keys; missing ones fall back to the
    /// temporal transformer's).
    package struct Depformer: Sendable, Equatable {
        package var dim: Int
        package var heads: Int
        package var layers: Int
        /// `depformer_dim_feedforward`, or `int(hidden_scale * depformer_dim)`.
        package var feedForward: Int
        package var gating: Activation
        package var positionalEncoding: PositionalEncoding
        package var maxPeriod: Double
        /// One `depformer_in` projection per codebook (else one shared).
        package var multiLinear: Bool
        /// Separate attention and feed-forward weights for each position (`weights_per_step`).
        package var weightsPerStep: Bool
        /// Which weight set each position uses (`depformer_weights_per_step_schedule`); nil: position k uses set k.
        package var schedule: [Int]?

        package var headDim: Int { dim / heads }
        package var gatedHidden: Int { LMConfig.gatedHidden(dim: dim, feedForward: feedForward) }
    }

    package var dim: Int
    package var heads: Int
    package var layers: Int
    /// `int(hidden_scale * dim)` unless the config gives `dim_feedforward`.
    package var feedForward: Int
    package var gating: Activation
    package var positionalEncoding: PositionalEncoding
    /// Steps kept in the temporal KV cache ring.
    package var context: Int
    /// RoPE's maximum period.
    package var maxPeriod: Double
    /// Text vocabulary: the text embedding has `textCard + 1` rows (the last is the initial token).
    package var textCard: Int
    /// Rows of `text_linear` (`text_card_out`, default `textCard`).
    package var textCardOut: Int
    /// Audio codebook size: the audio embeddings have `audioCard + 1` rows.
    package var audioCard: Int
    /// n_q: the audio streams the temporal transformer reads (the model's own, then the user's).
    package var inputCodebooks: Int
    /// dep_q: the codebooks the depformer generates.
    package var generatedCodebooks: Int
    /// One per stream: text first, then each audio codebook (the model's, then the user's).
    package var delays: [Int]
    package var depformer: Depformer
    /// RMSNorm epsilon (the reference's `rms_norm_f32` uses 1e-8).
    package var normEpsilon: Float
    /// PAD (`existing_text_padding_id`) and EPAD text tokens.
    package var textPaddingID: Int
    package var textEndPaddingID: Int

    package var headDim: Int { dim / heads }
    package var gatedHidden: Int { LMConfig.gatedHidden(dim: dim, feedForward: feedForward) }
    /// The user's codebooks: n_q - dep_q.
    package var userCodebooks: Int { inputCodebooks - generatedCodebooks }
    package var maxDelay: Int { delays.max() ?? 0 }
    /// Weight sets of each depformer layer.
    package var depformerWeightSets: Int {
        guard depformer.weightsPerStep else { return 1 }
        if let schedule = depformer.schedule { return (schedule.max() ?? 0) + 1 }
        return generatedCodebooks
    }
    /// `depformer_in` projections.
    package var depformerInputProjections: Int {
        guard depformer.multiLinear else { return 1 }
        if let schedule = depformer.schedule { return (schedule.max() ?? 0) + 1 }
        return generatedCodebooks
    }
    /// The weight set depformer position `k` uses.
    package func depformerWeightSet(position k: Int) -> Int {
        guard depformer.weightsPerStep else { return 0 }
        return depformer.schedule?[k] ?? k
    }
    /// The `depformer_in` projection position `k` uses.
    package func depformerInputProjection(position k: Int) -> Int {
        guard depformer.multiLinear else { return 0 }
        return depformer.schedule?[k] ?? k
    }

    /// The reference's gated hidden width (`ActivationGating`): `21 * dim / 8` when the
    /// feed-forward width is exactly `4 * dim`, else `2 * feedForward / 3` (integer division).
    package static func gatedHidden(dim: Int, feedForward: Int) -> Int {
        feedForward == 4 * dim ? 21 * dim / 8 : 2 * feedForward / 3
    }

    package init(dim: Int, heads: Int, layers: Int, feedForward: Int, gating: Activation = .silu,
                positionalEncoding: PositionalEncoding = .rope, context: Int, maxPeriod: Double = 10_000,
                textCard: Int, textCardOut: Int? = nil, audioCard: Int, inputCodebooks: Int, generatedCodebooks: Int,
                delays: [Int], depformer: Depformer, normEpsilon: Float = 1e-8, textPaddingID: Int = 3,
                textEndPaddingID: Int = 0) {
        self.dim = dim
        self.heads = heads
        self.layers = layers
        self.feedForward = feedForward
        self.gating = gating
        self.positionalEncoding = positionalEncoding
        self.context = context
        self.maxPeriod = maxPeriod
        self.textCard = textCard
        self.textCardOut = textCardOut ?? textCard
        self.audioCard = audioCard
        self.inputCodebooks = inputCodebooks
        self.generatedCodebooks = generatedCodebooks
        self.delays = delays
        self.depformer = depformer
        self.normEpsilon = normEpsilon
        self.textPaddingID = textPaddingID
        self.textEndPaddingID = textEndPaddingID
    }

    /// Moshi 7B (moshiko / moshika v0.1; `configs/moshi_7b_202409.json`).
    package static let moshi7B = LMConfig(
        dim: 4096, heads: 32, layers: 32, feedForward: 16_896, context: 3000,
        textCard: 32_000, audioCard: 2048, inputCodebooks: 16, generatedCodebooks: 8,
        delays: [0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1],
        depformer: Depformer(dim: 1024, heads: 16, layers: 6, feedForward: 4224, gating: .silu,
                             positionalEncoding: .none, maxPeriod: 10_000, multiLinear: true,
                             weightsPerStep: true, schedule: nil))

    /// The synthetic model's language model (`--synthetic`): Moshi's structure (16 streams with
    /// the 7B delays, 2048-entry codebooks, a 32000-token text vocabulary, a depformer with a
    /// weight set per codebook) at a width that runs in real time on two cores with random weights.
    package static let synthetic = LMConfig(
        dim: 768, heads: 12, layers: 6, feedForward: 3168, context: 3000,
        textCard: 32_000, audioCard: 2048, inputCodebooks: 16, generatedCodebooks: 8,
        delays: moshi7B.delays,
        depformer: Depformer(dim: 384, heads: 6, layers: 2, feedForward: 1584, gating: .silu,
                             positionalEncoding: .none, maxPeriod: 10_000, multiLinear: true,
                             weightsPerStep: true, schedule: nil))

    /// The presets by name (`--preset`).
    package static let presets: [(name: String, config: LMConfig)] = [("moshi-7b", moshi7B), ("synthetic", synthetic)]

    package static func preset(named name: String) -> LMConfig? { presets.first { $0.name == name }?.config }

    /// Throws unless the sizes fit together (heads divide dims, one delay per stream, ...).
    package func validate() throws(LMConfigError) {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws(LMConfigError) {
            if !ok { throw LMConfigError(message()) }
        }
        try check(dim > 0 && heads > 0 && layers > 0 && dim % heads == 0, "dim \(dim) must be a positive multiple of num_heads \(heads) (and num_layers \(layers) positive)")
        try check(positionalEncoding == .none || headDim % 2 == 0, "RoPE needs an even head dimension, got \(headDim)")
        try check(feedForward > 0 && gatedHidden > 0, "feed-forward width \(feedForward) is too small")
        try check(context > 0, "context must be positive, got \(context)")
        try check(textCard > 0 && textCardOut > 0 && audioCard > 0, "text_card, text_card_out and card must be positive")
        try check(generatedCodebooks > 0 && generatedCodebooks <= inputCodebooks, "dep_q \(generatedCodebooks) must be in 1...n_q (\(inputCodebooks))")
        try check(delays.count == inputCodebooks + 1, "delays has \(delays.count) entries; expected n_q + 1 = \(inputCodebooks + 1)")
        try check(delays.allSatisfy { $0 >= 0 && $0 <= 16 }, "delays must be in 0...16, got \(delays)")
        let d = depformer
        try check(d.dim > 0 && d.heads > 0 && d.layers > 0 && d.dim % d.heads == 0, "depformer_dim \(d.dim) must be a positive multiple of depformer_num_heads \(d.heads)")
        try check(d.positionalEncoding == .none || d.headDim % 2 == 0, "depformer RoPE needs an even head dimension")
        try check(d.feedForward > 0 && d.gatedHidden > 0, "depformer feed-forward width \(d.feedForward) is too small")
        if let schedule = d.schedule {
            try check(schedule.count == generatedCodebooks && schedule.allSatisfy { $0 >= 0 && $0 < 64 },
                      "depformer_weights_per_step_schedule must have dep_q = \(generatedCodebooks) entries in 0..<64")
        }
        try check(textPaddingID >= 0 && textPaddingID < textCardOut, "existing_text_padding_id \(textPaddingID) outside the text vocabulary")
    }
}

/// A configuration that cannot be used, with the reason.
package struct LMConfigError: Error, CustomStringConvertible, Equatable {
    package let description: String
    package init(_ description: String) { self.description = description }
}
