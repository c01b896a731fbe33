/// Every tensor a Mimi checkpoint holds for a configuration, by the official names
/// (`tokenizer-e351c8d8-checkpoint125.safetensors`) and shapes, in the order of the reference's
/// module tree. `MimiWeights` reads these (plus nothing else); `MimiRandomCheckpoint` writes them.
package enum MimiCheckpointLayout {
    /// What a tensor is for, so a generator can fill it with plausible values.
    package enum Role: Sendable, Equatable {
        /// A conv, transposed-conv or linear weight; `fanIn` inputs feed each output.
        case weight(fanIn: Int)
        case bias
        case normWeight
        case normBias
        case layerScale
        case embeddingSum
        case clusterUsage
        case initialized
    }

    package struct Tensor: Sendable, Equatable {
        package let name: String
        package let shape: [Int]
        package let role: Role
    }

    /// The tensors of `config` with plain weights (no weight-norm pairs), all `totalCodebooks`
    /// codebooks included.
    package static func tensors(for config: MimiConfig) -> [Tensor] {
        var out: [Tensor] = []
        func conv(_ prefix: String, out o: Int, in i: Int, kernel k: Int, bias: Bool = true) {
            out.append(Tensor(name: prefix + ".weight", shape: [o, i, k], role: .weight(fanIn: i * k)))
            if bias { out.append(Tensor(name: prefix + ".bias", shape: [o], role: .bias)) }
        }
        func convTranspose(_ prefix: String, in i: Int, out o: Int, kernel k: Int) {
            out.append(Tensor(name: prefix + ".weight", shape: [i, o, k], role: .weight(fanIn: i * k / 2)))
            out.append(Tensor(name: prefix + ".bias", shape: [o], role: .bias))
        }
        func block(_ prefix: String, dim: Int) {
            conv(prefix + ".1.conv.conv", out: dim / config.compress, in: dim, kernel: config.residualKernelSize)
            conv(prefix + ".3.conv.conv", out: dim, in: dim / config.compress, kernel: 1)
        }
        func transformer(_ prefix: String) {
            let d = config.seanetDimension
            let ff = config.transformerFeedForward
            for l in 0..<config.transformerLayers {
                let p = "\(prefix).transformer.layers.\(l)."
                out.append(Tensor(name: p + "self_attn.in_proj_weight", shape: [3 * d, d], role: .weight(fanIn: d)))
                out.append(Tensor(name: p + "self_attn.out_proj.weight", shape: [d, d], role: .weight(fanIn: d)))
                out.append(Tensor(name: p + "norm1.weight", shape: [d], role: .normWeight))
                out.append(Tensor(name: p + "norm1.bias", shape: [d], role: .normBias))
                out.append(Tensor(name: p + "norm2.weight", shape: [d], role: .normWeight))
                out.append(Tensor(name: p + "norm2.bias", shape: [d], role: .normBias))
                out.append(Tensor(name: p + "linear1.weight", shape: [ff, d], role: .weight(fanIn: d)))
                out.append(Tensor(name: p + "linear2.weight", shape: [d, ff], role: .weight(fanIn: ff)))
                out.append(Tensor(name: p + "layer_scale_1.scale", shape: [d], role: .layerScale))
                out.append(Tensor(name: p + "layer_scale_2.scale", shape: [d], role: .layerScale))
            }
        }
        let d = config.seanetDimension
        let nf = config.filters
        let stages = config.ratios.count

        conv("encoder.model.0.conv.conv", out: nf, in: config.channels, kernel: config.kernelSize)
        var index = 1
        for (stage, ratio) in config.ratios.reversed().enumerated() {
            let dim = nf << stage
            block("encoder.model.\(index).block", dim: dim)
            conv("encoder.model.\(index + 2).conv.conv", out: 2 * dim, in: dim, kernel: 2 * ratio)
            index += 3
        }
        conv("encoder.model.\(index + 1).conv.conv", out: d, in: config.seanetMaxChannels, kernel: config.lastKernelSize)

        conv("decoder.model.0.conv.conv", out: config.seanetMaxChannels, in: d, kernel: config.kernelSize)
        index = 1
        for (stage, ratio) in config.ratios.enumerated() {
            let dim = nf << (stages - 1 - stage)
            convTranspose("decoder.model.\(index + 1).convtr.convtr", in: 2 * dim, out: dim, kernel: 2 * ratio)
            block("decoder.model.\(index + 2).block", dim: dim)
            index += 3
        }
        conv("decoder.model.\(index + 1).conv.conv", out: config.channels, in: nf, kernel: config.lastKernelSize)

        transformer("encoder_transformer")
        transformer("decoder_transformer")
        conv("downsample.conv.conv.conv", out: d, in: d, kernel: 4, bias: false)
        out.append(Tensor(name: "upsample.convtr.convtr.convtr.weight", shape: [d, 1, 4], role: .weight(fanIn: 2)))

        let c = config.codebookDimension
        for part in ["rvq_first", "rvq_rest"] {
            let p = "quantizer.\(part)."
            out.append(Tensor(name: p + "input_proj.weight", shape: [c, d, 1], role: .weight(fanIn: d)))
            out.append(Tensor(name: p + "output_proj.weight", shape: [d, c, 1], role: .weight(fanIn: c)))
            let layers = part == "rvq_first" ? config.semanticCodebooks : config.totalCodebooks - config.semanticCodebooks
            for l in 0..<layers {
                let q = p + "vq.layers.\(l)._codebook."
                out.append(Tensor(name: q + "_initialized", shape: [1], role: .initialized))
                out.append(Tensor(name: q + "cluster_usage", shape: [config.codebookSize], role: .clusterUsage))
                out.append(Tensor(name: q + "embedding_sum", shape: [config.codebookSize, c], role: .embeddingSum))
            }
        }
        return out
    }
}
