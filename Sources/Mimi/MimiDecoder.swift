import MoshiNumerics

/// Mimi's streaming decoder: one frame of RVQ codes in, one 80 ms frame of 24 kHz mono audio
/// out, with all state carried between calls, as the reference's `MimiModel.decode` inside
/// `streaming()`.
///
///     codes [codebooks] -> split RVQ -> [512] -> depthwise stride-2 transposed conv -> [2, 512]
///                       -> transformer -> SEANet decoder -> audio [1920]
///
/// One decoder serves one stream; many decoders may share one `MimiWeights`. `step` allocates
/// nothing, takes no lock and does no I/O. Not thread-safe: one caller at a time.
package final class MimiDecoder {
    package let weights: MimiWeights
    /// The threads each frame's products are split over (nil: the calling thread).
    package let pool: ThreadPool?
    /// Samples per `step` (1920).
    package let frameSize: Int
    /// Codes per `step` (8 by default).
    package var codebooks: Int { quantizer.codebooks }
    /// Frames decoded since the start or the last `reset`.
    package private(set) var frames = 0

    private let quantizer: SplitResidualQuantizer
    private let latent: FloatBuffer            // [dim]
    private let upsample: StreamingDepthwiseUpsample
    let transformer: StreamingTransformer
    let seanet: SEANetDecoder
    private let recorder: IntermediateRecorder?

    /// - Parameters:
    ///   - pool: the threads that split each frame's products (the conversation's LM pool; nil:
    ///     the calling thread only).
    ///   - recordIntermediates: keep copies of each stage's last output
    ///     (`intermediate(_:)`), for tests and diagnostics.
    package init(weights: MimiWeights, pool: ThreadPool? = nil, recordIntermediates: Bool = false) {
        let config = weights.config
        self.weights = weights
        self.pool = pool
        frameSize = config.frameSize
        quantizer = SplitResidualQuantizer(weights.quantizer, config: config, pool: pool)
        latent = FloatBuffer(count: config.seanetDimension)
        upsample = StreamingDepthwiseUpsample(weight: weights.upsample, dimension: config.seanetDimension)
        transformer = StreamingTransformer(layers: weights.decoderTransformer, config: config,
                                           maxSteps: config.stepsPerFrame, pool: pool)
        seanet = SEANetDecoder(weights, pool: pool)
        recorder = recordIntermediates
            ? IntermediateRecorder(steps: config.stepsPerFrame, dimension: config.seanetDimension,
                                   stages: [.quantizedLatent, .upsampleOutput, .decoderTransformerOutput])
            : nil
    }

    /// Decodes one frame: `codes` holds exactly `codebooks` codes; `samples` receives
    /// `frameSize` samples. A code outside `0 ..< codebookSize` is an error (nothing is decoded
    /// and the state is unchanged).
    package func step(_ codes: UnsafeBufferPointer<Int32>, samples: UnsafeMutableBufferPointer<Float>) throws(MimiError) {
        precondition(samples.count >= frameSize, "MimiDecoder.step writes \(frameSize) samples, room for \(samples.count)")
        try validate(codes)
        let x = beginStep(codes.baseAddress!)
        transformer.run(x, steps: transformer.maxSteps)
        finishStep(samples: samples.baseAddress!)
    }

    /// Throws unless `codes` is one frame of codes in range.
    func validate(_ codes: UnsafeBufferPointer<Int32>) throws(MimiError) {
        guard codes.count == codebooks else {
            throw .invalidCodes("expected \(codebooks) codes per frame, got \(codes.count)")
        }
        let size = quantizer.codebookSize
        for (k, code) in codes.enumerated() where code < 0 || Int(code) >= size {
            throw .invalidCodes("code \(code) of codebook \(k) is outside 0..<\(size)")
        }
    }

    /// A step's first part (valid codes; `MimiBatch` runs the transformer between the parts):
    /// dequantization and upsampling; returns the transformer's input and output.
    func beginStep(_ codes: UnsafePointer<Int32>) -> UnsafeMutablePointer<Float> {
        quantizer.decode(codes, into: latent.pointer)
        recorder?.record(.quantizedLatent, latent.pointer, steps: 1)
        let x = seanet.latent
        upsample.run(latent.pointer, steps: 1, into: x)
        recorder?.record(.upsampleOutput, x, steps: transformer.maxSteps)
        return x
    }

    /// A step's last part, after the transformer: SEANet's decoder into `frameSize` samples.
    func finishStep(samples: UnsafeMutablePointer<Float>) {
        recorder?.record(.decoderTransformerOutput, seanet.latent, steps: transformer.maxSteps)
        seanet.run(into: samples)
        frames += 1
    }

    /// The end of a step whose SEANet input conv and first upsampling already ran (`MimiBatch`).
    func finishStepFromFirstBlock(samples: UnsafeMutablePointer<Float>) {
        seanet.runFromFirstBlock(into: samples)
        frames += 1
    }

    /// Decodes one frame into a new array (convenient; allocates).
    package func step(_ codes: [Int32]) throws(MimiError) -> [Float] {
        var samples = [Float](repeating: 0, count: frameSize)
        let result: Result<Void, MimiError> = codes.withUnsafeBufferPointer { input in
            samples.withUnsafeMutableBufferPointer { output in
                Result { () throws(MimiError) in try step(input, samples: output) }
            }
        }
        try result.get()
        return samples
    }

    /// Back to the start of a stream: zero conv histories and carries, empty KV caches, positions 0.
    package func reset() {
        upsample.reset()
        transformer.reset()
        seanet.reset()
        frames = 0
    }

    /// The last frame's output of `stage` (time-major `[steps, dim]`), if intermediates are
    /// recorded and the stage belongs to the decoder.
    package func intermediate(_ stage: MimiStage) -> [Float]? { recorder?.values(stage) }
}
