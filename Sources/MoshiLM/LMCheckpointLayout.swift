import Weights

/// The ways Kyutai's language-model checkpoints name the same weights (tensor names in the
/// Tests/MoshiLMTests/Fixtures README): the PyTorch release (`model.safetensors` of
/// `kyutai/moshiko-pytorch-bf16`), candle's (`moshiko-candle-bf16`, and `model.q8.gguf`), and
/// MLX's (`model.q8.safetensors`, `model.q4.safetensors`). All map onto one internal model.
package enum LMCheckpointLayout: String, Sendable, CustomStringConvertible {
    /// Reference names; the depformer's per-position attention weights are stacked in one matrix per layer.
    case pytorch
    /// candle: the depformer re-sliced per codebook (`depformer.{k}.…`).
    case candle
    /// MLX: candle's slicing under `depformer.slices.{k}`, `audio_embs`, `.weight` norms.
    case mlx

    package var description: String { rawValue }

    /// Recognises the layout from the tensor names.
    package static func detect(in store: any WeightStore) throws(WeightFileError) -> LMCheckpointLayout {
        if store.contains("depformer.slices.0.linear_in.weight") || store.contains("audio_embs.0.weight") { return .mlx }
        if store.contains("depformer.0.linear_in.weight") { return .candle }
        if store.contains("depformer_in.0.weight") || store.contains("text_emb.weight") { return .pytorch }
        throw WeightFileError(.missingTensor, file: store.sourceDescription, tensor: "text_emb.weight",
            "this is not a Moshi language-model checkpoint: none of text_emb.weight, depformer_in.0.weight, depformer.0.linear_in.weight, depformer.slices.0.linear_in.weight is present")
    }

    // MARK: names

    func audioEmbedding(_ i: Int) -> String { self == .mlx ? "audio_embs.\(i).weight" : "emb.\(i).weight" }
    var outNorm: String { self == .mlx ? "out_norm.weight" : "out_norm.alpha" }

    func temporal(_ layer: Int, _ part: String) -> String { "transformer.layers.\(layer).\(part)" }

    func norm(_ prefix: String, _ which: Int) -> String { "\(prefix).norm\(which).\(self == .mlx ? "weight" : "alpha")" }

    func inProjection(_ prefix: String) -> String {
        self == .mlx ? "\(prefix).self_attn.in_proj.weight" : "\(prefix).self_attn.in_proj_weight"
    }

    /// Prefix of depformer slice `k` (candle, MLX).
    func slice(_ k: Int) -> String { self == .mlx ? "depformer.slices.\(k)" : "depformer.\(k)" }

    func depformerInput(_ k: Int) -> String { self == .pytorch ? "depformer_in.\(k).weight" : "\(slice(k)).linear_in.weight" }
    func depformerHead(_ k: Int) -> String { self == .pytorch ? "linears.\(k).weight" : "\(slice(k)).linear_out.weight" }
    /// Position k's token embedding: the text table at k = 0, audio codebook k-1's table after.
    func depformerEmbedding(_ k: Int) -> String {
        switch self {
        case .pytorch: k == 0 ? "depformer_text_emb.weight" : "depformer_emb.\(k - 1).weight"
        case .candle, .mlx: "\(slice(k)).emb.weight"
        }
    }
}
