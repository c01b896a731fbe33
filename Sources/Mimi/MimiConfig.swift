/// The hyper-parameters of a Mimi codec (Kyutai's `_seanet_kwargs`, `_transformer_kwargs`,
/// `_quantizer_kwargs`). Presets are named constructors; the codec itself lands with the Mimi issue.
public struct MimiConfig: Sendable, Equatable {
    public var sampleRate: Int            // Hz
    public var frameRate: Double          // Hz (12.5: one code frame per 80 ms)
    public var channels: Int
    public var seanetDimension: Int       // latent width
    public var filters: Int               // SEANet n_filters
    public var ratios: [Int]              // decoder order; the encoder uses them reversed
    public var kernelSize: Int
    public var residualKernelSize: Int
    public var lastKernelSize: Int
    public var compress: Int
    public var transformerLayers: Int
    public var transformerHeads: Int
    public var transformerFeedForward: Int
    public var transformerContext: Int    // latent steps (25 Hz) kept in the ring KV cache
    public var layerScale: Float
    public var codebookDimension: Int
    public var codebookSize: Int
    public var totalCodebooks: Int        // in the checkpoint (1 semantic + acoustic)
    public var semanticCodebooks: Int
    public var codebooks: Int             // used at run time

    /// Samples per code frame (1920 at 24 kHz, 12.5 Hz).
    public var frameSize: Int { Int(Double(sampleRate) / frameRate) }
    /// Samples per SEANet latent step (the product of the ratios: 960).
    public var hopLength: Int { ratios.reduce(1, *) }

    /// `tokenizer-e351c8d8-checkpoint125.safetensors`, as Moshi 7B uses it (8 codebooks).
    public static let official = MimiConfig(
        sampleRate: 24_000, frameRate: 12.5, channels: 1, seanetDimension: 512, filters: 64,
        ratios: [8, 6, 5, 4], kernelSize: 7, residualKernelSize: 3, lastKernelSize: 3, compress: 2,
        transformerLayers: 8, transformerHeads: 8, transformerFeedForward: 2048, transformerContext: 250,
        layerScale: 0.01, codebookDimension: 256, codebookSize: 2048, totalCodebooks: 32,
        semanticCodebooks: 1, codebooks: 8)
}
