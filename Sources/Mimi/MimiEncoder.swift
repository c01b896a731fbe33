import MoshiNumerics

/// Mimi's streaming encoder: one 80 ms frame of 24 kHz mono audio in, one frame of RVQ codes
/// out, with all state (conv histories, transformer KV caches and positions) carried between
/// calls, as the reference's `MimiModel.encode` inside `streaming()`.
///
///     audio [1920] -> SEANet encoder -> [2, 512] -> transformer -> stride-2 conv -> [512]
///                  -> split RVQ -> codes [codebooks]
///
/// One encoder serves one stream; many encoders may share one `MimiWeights`. `step` allocates
/// nothing, takes no lock and does no I/O. Not thread-safe: one caller at a time.
package final class MimiEncoder {
    package let weights: MimiWeights
    /// The threads each frame's products are split over (nil: the calling thread).
    package let pool: ThreadPool?
    /// Samples per `step` (1920).
    package let frameSize: Int
    /// Codes per `step` (8 by default: 1 semantic + 7 acoustic).
    package var codebooks: Int { quantizer.codebooks }
    /// Frames encoded since the start or the last `reset`.
    package private(set) var frames = 0

    let seanet: SEANetEncoder
    let transformer: StreamingTransformer
    /// Input `[2 history + 2, dim]`; replicate-padded on the first call of a stream.
    let downsample: StreamingConv
    let quantizer: SplitResidualQuantizer
    let latent: FloatBuffer            // [dim]
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
        seanet = SEANetEncoder(weights, pool: pool)
        transformer = StreamingTransformer(layers: weights.encoderTransformer, config: config,
                                           maxSteps: config.stepsPerFrame, pool: pool)
        downsample = StreamingConv(weights.downsample, maxSteps: config.stepsPerFrame, replicatePadding: true, pool: pool)
        quantizer = SplitResidualQuantizer(weights.quantizer, config: config, pool: pool)
        latent = FloatBuffer(count: config.seanetDimension)
        recorder = recordIntermediates
            ? IntermediateRecorder(steps: config.stepsPerFrame, dimension: config.seanetDimension,
                                   stages: [.seanetEncoderOutput, .encoderTransformerOutput, .downsampleOutput])
            : nil
    }

    /// Encodes one frame: `samples` holds exactly `frameSize` samples (mono, nominally in
    /// [-1, 1]); `codes` receives `codebooks` codes, each in `0 ..< codebookSize`.
    package func step(_ samples: UnsafeBufferPointer<Float>, codes: UnsafeMutableBufferPointer<Int32>) {
        precondition(samples.count == frameSize, "MimiEncoder.step takes \(frameSize) samples, got \(samples.count)")
        precondition(codes.count >= codebooks, "MimiEncoder.step writes \(codebooks) codes, room for \(codes.count)")
        let x = runSEANet(samples.baseAddress!)
        transformer.run(x, steps: transformer.maxSteps)
        finishStep(codes: codes.baseAddress!)
    }

    /// A step's first part (`MimiBatch` runs the transformer between the parts): SEANet over
    /// `frameSize` samples; returns the transformer's input and output (`[steps, dim]`).
    func runSEANet(_ samples: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        let x = downsample.newSteps
        seanet.run(samples, into: x)
        recorder?.record(.seanetEncoderOutput, x, steps: transformer.maxSteps)
        return x
    }

    /// A step's last part, after the transformer: downsampling and quantization.
    func finishStep(codes: UnsafeMutablePointer<Int32>) {
        let steps = transformer.maxSteps
        recorder?.record(.encoderTransformerOutput, downsample.newSteps, steps: steps)
        downsample.run(steps: steps, into: latent.pointer)
        quantize(codes: codes)
    }

    /// Quantizes `latent` (the downsampled step) into `codes`: the end of a step.
    func quantize(codes: UnsafeMutablePointer<Int32>) {
        beginQuantize()
        quantizer.encode(latent.pointer, codes: codes)
    }

    /// What a step does with `latent` before quantizing it (`MimiBatch` then quantizes many
    /// streams' latents at once with `quantizer`).
    func beginQuantize() {
        recorder?.record(.downsampleOutput, latent.pointer, steps: 1)
        frames += 1
    }

    /// Encodes one frame into a new array (convenient; allocates).
    package func step(_ samples: [Float]) -> [Int32] {
        var codes = [Int32](repeating: 0, count: codebooks)
        samples.withUnsafeBufferPointer { input in
            codes.withUnsafeMutableBufferPointer { step(input, codes: $0) }
        }
        return codes
    }

    /// Back to the start of a stream: zero conv histories (the downsampler's replicate padding
    /// re-armed), empty KV caches, positions 0.
    package func reset() {
        seanet.reset()
        transformer.reset()
        downsample.reset()
        frames = 0
    }

    /// The last frame's output of `stage` (time-major `[steps, dim]`), if intermediates are
    /// recorded and the stage belongs to the encoder.
    package func intermediate(_ stage: MimiStage) -> [Float]? { recorder?.values(stage) }
}
