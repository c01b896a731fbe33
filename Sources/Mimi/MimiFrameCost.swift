/// What one streaming frame costs, counted from the configuration: multiply-adds (1 MAC =
/// 2 FLOPs) and the weight bytes the step must read (every weight in use once, f32). For
/// the official codec: encode ~0.43 GFLOP and ~160 MB, decode about the same.
package struct MimiFrameCost: Sendable, Equatable {
    /// Multiply-adds per encoded frame: SEANet encoder, transformer, downsampling, quantizer.
    package var encodeMACs: Int
    /// Multiply-adds per decoded frame: quantizer projections, upsampling, transformer, SEANet decoder.
    package var decodeMACs: Int
    /// f32 weight bytes one encode step reads (SEANet encoder, transformer, downsampler,
    /// projections and the codebooks in use).
    package var encodeWeightBytes: Int
    /// f32 weight bytes one decode step reads.
    package var decodeWeightBytes: Int
    /// Of which the transformers' (each step reads all of its 25 M parameters for only 2 steps).
    package var transformerWeightBytes: Int

    package var encodeFLOPs: Int { 2 * encodeMACs }
    package var decodeFLOPs: Int { 2 * decodeMACs }

    package init(config c: MimiConfig) {
        let d = c.seanetDimension
        let steps = c.stepsPerFrame
        let nf = c.filters
        var encMACs = 0, decMACs = 0, encParams = 0, decParams = 0

        // SEANet encoder.
        var t = c.frameSize
        encMACs += t * nf * c.channels * c.kernelSize
        encParams += nf * c.channels * c.kernelSize + nf
        for (stage, ratio) in c.ratios.reversed().enumerated() {
            let dim = nf << stage
            let hidden = dim / c.compress
            let blockParams = hidden * dim * c.residualKernelSize + hidden + dim * hidden + dim
            encMACs += t * (hidden * dim * c.residualKernelSize + dim * hidden)
            encParams += blockParams
            t /= ratio
            encMACs += t * 2 * dim * dim * 2 * ratio
            encParams += 2 * dim * dim * 2 * ratio + 2 * dim
        }
        encMACs += t * d * c.seanetMaxChannels * c.lastKernelSize
        encParams += d * c.seanetMaxChannels * c.lastKernelSize + d

        // Transformers (identical for both directions): projections, FFN, attention over the context.
        let layerParams = 4 * d * d + 2 * d * c.transformerFeedForward + 6 * d
        let transformerMACs = steps * c.transformerLayers * (4 * d * d + 2 * d * c.transformerFeedForward)
            + steps * c.transformerLayers * 2 * c.transformerContext * d
        let transformerParams = c.transformerLayers * layerParams
        encMACs += transformerMACs
        decMACs += transformerMACs
        encParams += transformerParams
        decParams += transformerParams

        // Down/upsampling and quantizer.
        encMACs += d * d * 4
        encParams += d * d * 4
        encMACs += 2 * c.codebookDimension * d + c.codebooks * c.codebookSize * c.codebookDimension
        encParams += 2 * c.codebookDimension * d + c.codebooks * c.codebookSize * c.codebookDimension
        decMACs += 2 * d * c.codebookDimension + d * 4 * steps
        decParams += 2 * d * c.codebookDimension + d * 4 + c.codebooks * c.codebookDimension

        // SEANet decoder.
        t = steps
        decMACs += t * c.seanetMaxChannels * d * c.kernelSize
        decParams += c.seanetMaxChannels * d * c.kernelSize + c.seanetMaxChannels
        for (stage, ratio) in c.ratios.enumerated() {
            let dim = nf << (c.ratios.count - 1 - stage)
            let hidden = dim / c.compress
            decMACs += t * 2 * dim * dim * 2 * ratio
            decParams += 2 * dim * dim * 2 * ratio + dim
            t *= ratio
            decMACs += t * (hidden * dim * c.residualKernelSize + dim * hidden)
            decParams += hidden * dim * c.residualKernelSize + hidden + dim * hidden + dim
        }
        decMACs += t * c.channels * nf * c.lastKernelSize
        decParams += c.channels * nf * c.lastKernelSize + c.channels

        encodeMACs = encMACs
        decodeMACs = decMACs
        encodeWeightBytes = 4 * encParams
        decodeWeightBytes = 4 * decParams
        transformerWeightBytes = 4 * transformerParams
    }
}
