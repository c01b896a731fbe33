import MoshiNumerics
import Weights

/// Every weight of a Mimi codec, loaded once and checked against the configuration, then
/// shared read-only by any number of `MimiEncoder`s and `MimiDecoder`s.
///
/// Loading reads the official checkpoint's tensor names (`tokenizer-e351c8d8-checkpoint125.safetensors`)
/// and checks every tensor the configuration needs for presence and shape before anything
/// runs; a wrong file gets a `MimiError.weights` naming the tensor. Weight-norm pairs
/// (`weight_g`, `weight_v`) are folded (`g * v / ||v||`, the norm over all axes but the first),
/// codebooks derived (`embedding_sum / max(cluster_usage, eps)`). The transformer matrices are
/// used in place in the mapped file when they are aligned f32; convolutions are repacked for
/// time-major products (see `ConvWeights`) and so copied once, as are codebooks and anything
/// stored as f16/bf16.
package final class MimiWeights: @unchecked Sendable {
    package let config: MimiConfig
    /// The file the in-place views point into; kept alive with these weights.
    package let store: any WeightStore

    let encoderInput: ConvWeights
    let encoderStages: [EncoderStageWeights]
    let encoderOutput: ConvWeights
    let encoderTransformer: [TransformerLayerWeights]
    /// Stride-2 conv, kernel 4, no bias, replicate-padded.
    let downsample: ConvWeights
    let quantizer: QuantizerWeights
    /// Depthwise stride-2 transposed conv, kernel 4, no bias: `[4, dim]` (tap-major).
    let upsample: UnsafePointer<Float>
    let decoderTransformer: [TransformerLayerWeights]
    let decoderInput: ConvWeights
    let decoderStages: [DecoderStageWeights]
    let decoderOutput: ConvWeights

    /// Copies made at load (repacked convolutions, codebooks, unaligned or non-f32 tensors).
    private let owned: [FloatBuffer]

    /// Opens the safetensors file at `path` and loads it for `config`.
    package convenience init(path: String, config: MimiConfig = .official) throws(MimiError) {
        let file: SafetensorsFile
        do {
            file = try SafetensorsFile(path: path)
        } catch {
            throw .weights(error)
        }
        try self.init(store: file, config: config)
    }

    /// Loads the weights `config` needs from `store` (which stays alive as long as this object).
    package init(store: any WeightStore, config: MimiConfig) throws(MimiError) {
        try config.validate()
        self.config = config
        self.store = store
        let loader = Loader(store: store, config: config)
        do {
            let d = config.seanetDimension
            let nf = config.filters
            let channelsPerStage = config.ratios.indices.map { nf << $0 }   // 64, 128, 256, 512

            // SEANet encoder: conv, then per ratio (reversed): residual block, ELU, strided conv.
            encoderInput = try loader.conv("encoder.model.0.conv.conv", in: config.channels, out: nf,
                                           kernel: config.kernelSize, stride: 1)
            var index = 1
            var encoderStages: [EncoderStageWeights] = []
            for (stage, ratio) in config.ratios.reversed().enumerated() {
                let dim = channelsPerStage[stage]
                let block = try loader.residualBlock("encoder.model.\(index).block", dim: dim)
                let down = try loader.conv("encoder.model.\(index + 2).conv.conv", in: dim, out: 2 * dim,
                                           kernel: 2 * ratio, stride: ratio)
                encoderStages.append(EncoderStageWeights(block: block, downsample: down))
                index += 3
            }
            self.encoderStages = encoderStages
            encoderOutput = try loader.conv("encoder.model.\(index + 1).conv.conv", in: config.seanetMaxChannels,
                                            out: d, kernel: config.lastKernelSize, stride: 1)

            encoderTransformer = try loader.transformer("encoder_transformer.transformer")
            downsample = try loader.conv("downsample.conv.conv.conv", in: d, out: d, kernel: 4, stride: 2, bias: false)
            quantizer = try loader.quantizer()
            upsample = try loader.depthwiseUpsample("upsample.convtr.convtr.convtr")
            decoderTransformer = try loader.transformer("decoder_transformer.transformer")

            // SEANet decoder: conv, then per ratio: ELU, transposed conv, residual block; ELU, conv.
            decoderInput = try loader.conv("decoder.model.0.conv.conv", in: d, out: config.seanetMaxChannels,
                                           kernel: config.kernelSize, stride: 1)
            index = 1
            var decoderStages: [DecoderStageWeights] = []
            for (stage, ratio) in config.ratios.enumerated() {
                let dim = channelsPerStage[config.ratios.count - 1 - stage]       // 512, 256, 128, 64
                let up = try loader.convTranspose("decoder.model.\(index + 1).convtr.convtr", in: 2 * dim, out: dim,
                                                  stride: ratio)
                let block = try loader.residualBlock("decoder.model.\(index + 2).block", dim: dim)
                decoderStages.append(DecoderStageWeights(upsample: up, block: block))
                index += 3
            }
            self.decoderStages = decoderStages
            decoderOutput = try loader.conv("decoder.model.\(index + 1).conv.conv", in: nf, out: config.channels,
                                            kernel: config.lastKernelSize, stride: 1)
        } catch {
            throw .weights(error)
        }
        owned = loader.owned
    }
}

extension MimiWeights {
    /// Reads tensors by name with shape checks and makes the repacked copies.
    fileprivate final class Loader {
        let store: any WeightStore
        let config: MimiConfig
        var owned: [FloatBuffer] = []

        init(store: any WeightStore, config: MimiConfig) {
            self.store = store
            self.config = config
        }

        /// A copy that lives as long as the weights.
        func keep(_ values: [Float]) -> UnsafePointer<Float> {
            let buffer = FloatBuffer(values)
            owned.append(buffer)
            return UnsafePointer(buffer.pointer)
        }

        /// The tensor in place when it is f32 and 4-byte aligned, else a copy.
        func view(_ name: String, shape: [Int]) throws(WeightFileError) -> UnsafePointer<Float> {
            let tensor = try store.require(name, shape: shape)
            if tensor.dtype == .f32, Int(bitPattern: tensor.data) % MemoryLayout<Float>.alignment == 0 {
                return tensor.data.assumingMemoryBound(to: Float.self)
            }
            return keep(try tensor.floats())
        }

        /// The values of `name`, checking its shape.
        func values(_ name: String, shape: [Int]) throws(WeightFileError) -> [Float] {
            try store.floats(name, shape: shape)
        }

        /// A conv or transposed-conv weight `[a, b, k]` stored as `PREFIX.weight`, or as the
        /// weight-norm pair `PREFIX.weight_g` (`[a, 1, 1]`) and `PREFIX.weight_v` (`[a, b, k]`):
        /// `w = g * v / ||v||`, the norm of each slice along the first axis (computed in double).
        func kernel(_ prefix: String, shape: [Int]) throws(WeightFileError) -> [Float] {
            let plain = prefix + ".weight"
            if store.contains(plain) || !store.contains(prefix + ".weight_v") {
                return try values(plain, shape: shape)
            }
            let v = try values(prefix + ".weight_v", shape: shape)
            let g = try values(prefix + ".weight_g", shape: [shape[0], 1, 1])
            let slice = shape[1] * shape[2]
            var w = [Float](repeating: 0, count: v.count)
            for a in 0..<shape[0] {
                var squares = 0.0
                for i in 0..<slice { squares += Double(v[a * slice + i]) * Double(v[a * slice + i]) }
                let factor = Double(g[a]) / squares.squareRoot()
                for i in 0..<slice { w[a * slice + i] = Float(Double(v[a * slice + i]) * factor) }
            }
            return w
        }

        /// A causal conv `PREFIX.{weight,bias}` (PyTorch `[out, in, k]`), repacked to `[out, k * in]`.
        func conv(_ prefix: String, in inChannels: Int, out outChannels: Int, kernel kernelSize: Int,
                  stride: Int, bias hasBias: Bool = true) throws(WeightFileError) -> ConvWeights {
            let w = try kernel(prefix, shape: [outChannels, inChannels, kernelSize])
            var packed = [Float](repeating: 0, count: w.count)
            for co in 0..<outChannels {
                for ci in 0..<inChannels {
                    for k in 0..<kernelSize {
                        packed[(co * kernelSize + k) * inChannels + ci] = w[(co * inChannels + ci) * kernelSize + k]
                    }
                }
            }
            let bias = hasBias ? keep(try values(prefix + ".bias", shape: [outChannels])) : nil
            let weight = keep(packed)
            let width = kernelSize * inChannels
            return ConvWeights(inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize,
                               stride: stride, weight: weight, bias: bias,
                               panels: panels(weight, outputs: outChannels, inner: width))
        }

        /// A transposed conv `PREFIX.{weight,bias}` (PyTorch `[in, out, 2 * stride]`), repacked
        /// to rows `(k, co)` of length `in`.
        func convTranspose(_ prefix: String, in inChannels: Int, out outChannels: Int,
                           stride: Int) throws(WeightFileError) -> ConvTransposeWeights {
            let kernelSize = 2 * stride
            let w = try kernel(prefix, shape: [inChannels, outChannels, kernelSize])
            var packed = [Float](repeating: 0, count: w.count)
            for ci in 0..<inChannels {
                for co in 0..<outChannels {
                    for k in 0..<kernelSize {
                        packed[(k * outChannels + co) * inChannels + ci] = w[(ci * outChannels + co) * kernelSize + k]
                    }
                }
            }
            let bias = keep(try values(prefix + ".bias", shape: [outChannels]))
            let weight = keep(packed)
            let block = stride * outChannels
            return ConvTransposeWeights(inChannels: inChannels, outChannels: outChannels, stride: stride,
                                        weight: weight, bias: bias,
                                        lowerPanels: panels(weight, outputs: block, inner: inChannels),
                                        upperPanels: panels(weight + block * inChannels, outputs: block, inner: inChannels))
        }

        /// A conv weight `[outputs, inner]` in panels for the many-row kernel, when it is at most
        /// 2 M floats: SEANet's upper stages, whose convs run 16 to 1920 steps a frame (the
        /// largest, the encoder's 256 -> 512 downsampling, 1.6 M floats for 16 steps); the large
        /// deep ones run 1 to 4 steps, on the few-row kernel. About 25 MB for the official shapes.
        func panels(_ weight: UnsafePointer<Float>, outputs: Int, inner: Int) -> UnsafePointer<Float>? {
            guard outputs * inner <= 1 << 21 else { return nil }
            return keep(DenseProduct.packPanels(weight, outputs: outputs, inner: inner, ldw: inner))
        }

        /// `PREFIX.1` (conv k, dim -> dim/compress) and `PREFIX.3` (conv 1x1 back to dim).
        func residualBlock(_ prefix: String, dim: Int) throws(WeightFileError) -> ResidualBlockWeights {
            let hidden = dim / config.compress
            return ResidualBlockWeights(
                expand: try conv(prefix + ".1.conv.conv", in: dim, out: hidden, kernel: config.residualKernelSize, stride: 1),
                project: try conv(prefix + ".3.conv.conv", in: hidden, out: dim, kernel: 1, stride: 1))
        }

        /// The depthwise upsampler `[dim, 1, 4]` as `[4, dim]` (tap-major).
        func depthwiseUpsample(_ prefix: String) throws(WeightFileError) -> UnsafePointer<Float> {
            let d = config.seanetDimension
            let w = try kernel(prefix, shape: [d, 1, 4])
            var packed = [Float](repeating: 0, count: w.count)
            for c in 0..<d {
                for k in 0..<4 { packed[k * d + c] = w[c * 4 + k] }
            }
            return keep(packed)
        }

        /// The layers `PREFIX.layers.{0..}` of a streaming transformer.
        func transformer(_ prefix: String) throws(WeightFileError) -> [TransformerLayerWeights] {
            let d = config.seanetDimension
            let ff = config.transformerFeedForward
            var layers: [TransformerLayerWeights] = []
            for l in 0..<config.transformerLayers {
                let p = "\(prefix).layers.\(l)."
                layers.append(TransformerLayerWeights(
                    inProjection: try view(p + "self_attn.in_proj_weight", shape: [3 * d, d]),
                    outProjection: try view(p + "self_attn.out_proj.weight", shape: [d, d]),
                    norm1Weight: try view(p + "norm1.weight", shape: [d]),
                    norm1Bias: try view(p + "norm1.bias", shape: [d]),
                    norm2Weight: try view(p + "norm2.weight", shape: [d]),
                    norm2Bias: try view(p + "norm2.bias", shape: [d]),
                    linear1: try view(p + "linear1.weight", shape: [ff, d]),
                    linear2: try view(p + "linear2.weight", shape: [d, ff]),
                    scale1: try view(p + "layer_scale_1.scale", shape: [d]),
                    scale2: try view(p + "layer_scale_2.scale", shape: [d])))
            }
            return layers
        }

        /// The split RVQ: projections, and the codebooks in use derived from their statistics.
        /// Every codebook of the file (`totalCodebooks`) is checked, the first `codebooks` derived.
        func quantizer() throws(WeightFileError) -> QuantizerWeights {
            let d = config.seanetDimension
            let c = config.codebookDimension
            let bins = config.codebookSize
            var codebooks: [CodebookWeights] = []
            for q in 0..<config.totalCodebooks {
                let p = q == 0 ? "quantizer.rvq_first.vq.layers.0._codebook."
                               : "quantizer.rvq_rest.vq.layers.\(q - 1)._codebook."
                let sumName = p + "embedding_sum"
                let usageName = p + "cluster_usage"
                guard q < config.codebooks else {
                    _ = try store.require(sumName, shape: [bins, c])
                    _ = try store.require(usageName, shape: [bins])
                    continue
                }
                let sums = try values(sumName, shape: [bins, c])
                let usage = try values(usageName, shape: [bins])
                var entries = [Float](repeating: 0, count: bins * c)
                for row in 0..<bins {
                    let divisor = max(usage[row], config.codebookEpsilon)
                    for i in 0..<c { entries[row * c + i] = sums[row * c + i] / divisor }
                }
                let pointer = keep(entries)
                var norms = [Float](repeating: 0, count: bins)
                norms.withUnsafeMutableBufferPointer { out in
                    codebookSquaredNorms(pointer, entries: bins, dimension: c, into: out.baseAddress!)
                }
                codebooks.append(CodebookWeights(entries: pointer, squaredNorms: keep(norms)))
            }
            return QuantizerWeights(
                firstInput: try view("quantizer.rvq_first.input_proj.weight", shape: [c, d, 1]),
                restInput: try view("quantizer.rvq_rest.input_proj.weight", shape: [c, d, 1]),
                firstOutput: try view("quantizer.rvq_first.output_proj.weight", shape: [d, c, 1]),
                restOutput: try view("quantizer.rvq_rest.output_proj.weight", shape: [d, c, 1]),
                codebooks: codebooks)
        }
    }
}
