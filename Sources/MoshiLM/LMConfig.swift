/// The hyper-parameters of a Moshi language model (Kyutai's `_lm_kwargs`,
/// `configs/moshi_7b_202409.json`). The model itself lands with the language-model issue.
public struct LMConfig: Sendable, Equatable {
    public var dim: Int
    public var heads: Int
    public var layers: Int
    public var hiddenScale: Double
    public var context: Int               // steps kept in the temporal KV cache ring
    public var maxPeriod: Double          // RoPE
    public var textCard: Int              // text vocabulary (the embedding has one more row)
    public var audioCard: Int             // codebook size (the embeddings have one more row)
    public var inputCodebooks: Int        // n_q: system + user codebooks
    public var generatedCodebooks: Int    // dep_q
    public var delays: [Int]              // text first, then each audio codebook
    public var depformerDim: Int
    public var depformerHeads: Int
    public var depformerLayers: Int
    public var depformerFeedForward: Int
    public var normEpsilon: Float
    public var textPaddingID: Int
    public var textEndPaddingID: Int

    /// The gated (SiLU) hidden width: 2/3 of the feed-forward width, as the reference derives it.
    public var gatedHidden: Int { 2 * Int(hiddenScale * Double(dim)) / 3 }
    public var depformerGatedHidden: Int { 2 * depformerFeedForward / 3 }

    /// Moshi 7B (moshiko / moshika v0.1).
    public static let moshi7B = LMConfig(
        dim: 4096, heads: 32, layers: 32, hiddenScale: 4.125, context: 3000, maxPeriod: 10_000,
        textCard: 32_000, audioCard: 2048, inputCodebooks: 16, generatedCodebooks: 8,
        delays: [0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1],
        depformerDim: 1024, depformerHeads: 16, depformerLayers: 6, depformerFeedForward: 4224,
        normEpsilon: 1e-8, textPaddingID: 3, textEndPaddingID: 0)
}
