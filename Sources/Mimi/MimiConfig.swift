/// The hyper-parameters of a Mimi codec (Kyutai's `_seanet_kwargs`, `_transformer_kwargs`,
/// `_quantizer_kwargs`). Presets are named constructors (`official`); the small random-weight
/// test codecs are described by the same fields.
///
/// The structure is fixed to what Mimi uses: one residual block per SEANet stage with dilation 1,
/// causal convolutions, ELU, identity skips, stride-`ratio` convolutions of kernel `2 * ratio`,
/// a learnt stride-2 down/upsampling (kernel 4) between the SEANet rate and the frame rate,
/// transformers with RoPE, LayerNorm, GELU feed-forward and layer scale, and a split RVQ.
package struct MimiConfig: Sendable, Equatable {
    package var sampleRate: Int            // Hz
    package var frameRate: Double          // Hz (12.5: one code frame per 80 ms)
    package var channels: Int
    package var seanetDimension: Int       // latent width = transformer d_model
    package var filters: Int               // SEANet n_filters
    package var ratios: [Int]              // decoder order; the encoder uses them reversed
    package var kernelSize: Int
    package var residualKernelSize: Int
    package var lastKernelSize: Int
    package var compress: Int
    package var transformerLayers: Int
    package var transformerHeads: Int
    package var transformerFeedForward: Int
    package var transformerContext: Int    // latent steps (25 Hz) kept in the ring KV cache
    package var layerScale: Float          // initial value only; the checkpoint holds the real scales
    package var ropeMaxPeriod: Float
    package var layerNormEpsilon: Float
    package var codebookDimension: Int
    package var codebookSize: Int
    package var totalCodebooks: Int        // in the checkpoint (1 semantic + acoustic)
    package var semanticCodebooks: Int
    package var codebooks: Int             // used at run time
    package var codebookEpsilon: Float     // cluster_usage is clamped to at least this

    package init(sampleRate: Int, frameRate: Double, channels: Int, seanetDimension: Int, filters: Int,
                ratios: [Int], kernelSize: Int, residualKernelSize: Int, lastKernelSize: Int, compress: Int,
                transformerLayers: Int, transformerHeads: Int, transformerFeedForward: Int,
                transformerContext: Int, layerScale: Float = 0.01, ropeMaxPeriod: Float = 10_000,
                layerNormEpsilon: Float = 1e-5, codebookDimension: Int, codebookSize: Int,
                totalCodebooks: Int, semanticCodebooks: Int = 1, codebooks: Int, codebookEpsilon: Float = 1e-5) {
        self.sampleRate = sampleRate
        self.frameRate = frameRate
        self.channels = channels
        self.seanetDimension = seanetDimension
        self.filters = filters
        self.ratios = ratios
        self.kernelSize = kernelSize
        self.residualKernelSize = residualKernelSize
        self.lastKernelSize = lastKernelSize
        self.compress = compress
        self.transformerLayers = transformerLayers
        self.transformerHeads = transformerHeads
        self.transformerFeedForward = transformerFeedForward
        self.transformerContext = transformerContext
        self.layerScale = layerScale
        self.ropeMaxPeriod = ropeMaxPeriod
        self.layerNormEpsilon = layerNormEpsilon
        self.codebookDimension = codebookDimension
        self.codebookSize = codebookSize
        self.totalCodebooks = totalCodebooks
        self.semanticCodebooks = semanticCodebooks
        self.codebooks = codebooks
        self.codebookEpsilon = codebookEpsilon
    }

    /// Samples per code frame (1920 at 24 kHz, 12.5 Hz).
    package var frameSize: Int { Int(Double(sampleRate) / frameRate) }
    /// Samples per SEANet latent step (the product of the ratios: 960).
    package var hopLength: Int { ratios.reduce(1, *) }
    /// SEANet latent steps per code frame (2): the stride of the learnt down/upsampling.
    package var stepsPerFrame: Int { frameSize / hopLength }
    /// Width of one attention head (64).
    package var headDimension: Int { seanetDimension / transformerHeads }
    /// Channels after the first SEANet encoder conv and per stage: `filters * 2^stage`.
    /// The SEANet decoder's first conv outputs `filters * 2^ratios.count` (1024).
    package var seanetMaxChannels: Int { filters << ratios.count }

    /// `tokenizer-e351c8d8-checkpoint125.safetensors`, as Moshi 7B uses it (8 codebooks).
    package static let official = MimiConfig(
        sampleRate: 24_000, frameRate: 12.5, channels: 1, seanetDimension: 512, filters: 64,
        ratios: [8, 6, 5, 4], kernelSize: 7, residualKernelSize: 3, lastKernelSize: 3, compress: 2,
        transformerLayers: 8, transformerHeads: 8, transformerFeedForward: 2048, transformerContext: 250,
        layerScale: 0.01, codebookDimension: 256, codebookSize: 2048, totalCodebooks: 32,
        semanticCodebooks: 1, codebooks: 8)

    /// The official configuration using `codebooks` codebooks (1 semantic + `codebooks - 1` acoustic).
    package static func official(codebooks: Int) -> MimiConfig {
        var config = official
        config.codebooks = codebooks
        return config
    }

    /// Checks that the numbers describe a codec this implementation can run; the error says
    /// which number is wrong.
    package func validate() throws(MimiError) {
        func fail(_ message: String) -> MimiError { .configuration(message) }
        let positives: [(String, Int)] = [
            ("sampleRate", sampleRate), ("channels", channels), ("seanetDimension", seanetDimension),
            ("filters", filters), ("kernelSize", kernelSize), ("residualKernelSize", residualKernelSize),
            ("lastKernelSize", lastKernelSize), ("compress", compress), ("transformerLayers", transformerLayers),
            ("transformerHeads", transformerHeads), ("transformerFeedForward", transformerFeedForward),
            ("transformerContext", transformerContext), ("codebookDimension", codebookDimension),
            ("codebookSize", codebookSize), ("totalCodebooks", totalCodebooks),
            ("semanticCodebooks", semanticCodebooks), ("codebooks", codebooks),
        ]
        for (name, value) in positives where value <= 0 { throw fail("\(name) must be positive, got \(value)") }
        guard frameRate > 0, frameRate.isFinite else { throw fail("frameRate must be positive, got \(frameRate)") }
        guard !ratios.isEmpty, ratios.allSatisfy({ $0 > 0 }) else { throw fail("ratios must be positive, got \(ratios)") }
        guard Double(frameSize) * frameRate == Double(sampleRate) else {
            throw fail("sampleRate \(sampleRate) is not a whole number of samples per frame at \(frameRate) Hz")
        }
        guard frameSize % hopLength == 0, stepsPerFrame == 2 else {
            throw fail("frame size \(frameSize) must be exactly 2 SEANet hops (hop \(hopLength)): Mimi resamples by 2")
        }
        guard filters % compress == 0, seanetDimension % transformerHeads == 0 else {
            throw fail("filters \(filters) must divide by compress \(compress) and dimension \(seanetDimension) by heads \(transformerHeads)")
        }
        guard headDimension % 2 == 0 else { throw fail("head dimension \(headDimension) must be even (RoPE pairs)") }
        guard semanticCodebooks == 1 else { throw fail("only 1 semantic codebook is supported, got \(semanticCodebooks)") }
        guard totalCodebooks > semanticCodebooks else {
            throw fail("totalCodebooks \(totalCodebooks) must exceed the semantic codebooks")
        }
        guard codebooks <= totalCodebooks else {
            throw fail("codebooks \(codebooks) exceeds the \(totalCodebooks) in the checkpoint")
        }
        guard codebookEpsilon > 0, layerNormEpsilon > 0, ropeMaxPeriod > 1 else {
            throw fail("epsilons and the RoPE max period must be positive")
        }
    }
}
