// The weights of each kind of Mimi layer, in the layouts the streaming code multiplies with.
// Every pointer stays valid as long as the `MimiWeights` that made it (which owns the copies
// and keeps the mapped file alive). All activations are time-major (`[steps, channels]`).

/// A causal 1-D convolution (dilation 1), repacked so that one output step is one dot product
/// with a contiguous window of time-major input: `weight` is `[outChannels, kernelSize *
/// inChannels]` with row `co` holding taps in `(k, ci)` order, i.e. PyTorch's `[out, in, k]`
/// transposed in its last two axes. A window of `kernelSize` consecutive input steps
/// `[k, inChannels]` is exactly such a row, so the convolution is `Y = Windows · Wᵀ`.
struct ConvWeights: @unchecked Sendable {
    let inChannels: Int
    let outChannels: Int
    let kernelSize: Int
    let stride: Int
    /// `[outChannels, kernelSize * inChannels]`, taps `(k, ci)`.
    let weight: UnsafePointer<Float>
    /// `[outChannels]`, or nil (the downsampling conv has no bias).
    let bias: UnsafePointer<Float>?
    /// `weight` in panels for the many-row kernel (`DenseProduct.packPanels`), for the convs of
    /// SEANet's upper stages (small weights, many steps); nil for the large deep ones.
    let panels: UnsafePointer<Float>?

    /// Input steps kept between calls: `kernelSize - stride`.
    var history: Int { kernelSize - stride }
    /// Floats in one window (one row of `weight`).
    var windowLength: Int { kernelSize * inChannels }
}

/// A transposed 1-D convolution with `kernelSize == 2 * stride` (all of Mimi's), repacked as
/// two linear maps: each input step produces `2 * stride` output steps; the first `stride` land
/// on its own output block (`lower`), the next `stride` on the following block (`upper`).
/// `weight` is `[2 * stride * outChannels, inChannels]`, row `(k, co)` = PyTorch's
/// `w[:, co, k]` (`[in, out, k]` layout), so `lower` is rows `0 ..< stride * outChannels`.
struct ConvTransposeWeights: @unchecked Sendable {
    let inChannels: Int
    let outChannels: Int
    let stride: Int
    /// `[2 * stride * outChannels, inChannels]`, rows `(k, co)`.
    let weight: UnsafePointer<Float>
    /// `[outChannels]`.
    let bias: UnsafePointer<Float>?
    /// `lower` and `upper` in panels for the many-row kernel, or nil (as `ConvWeights.panels`).
    let lowerPanels: UnsafePointer<Float>?
    let upperPanels: UnsafePointer<Float>?

    /// Rows (and output floats) of one output block: `stride * outChannels`.
    var blockLength: Int { stride * outChannels }
    var lower: UnsafePointer<Float> { weight }
    var upper: UnsafePointer<Float> { weight + blockLength * inChannels }
}

/// SEANet's residual block: `x + conv1x1(ELU(conv_k(ELU(x))))`, hidden width `dim / compress`.
struct ResidualBlockWeights: Sendable {
    /// dim -> dim / compress, kernel `residualKernelSize`, stride 1.
    let expand: ConvWeights
    /// dim / compress -> dim, kernel 1.
    let project: ConvWeights
}

/// One SEANet encoder stage: residual block, ELU, then a stride-`ratio` conv doubling the width.
struct EncoderStageWeights: Sendable {
    let block: ResidualBlockWeights
    let downsample: ConvWeights
}

/// One SEANet decoder stage: ELU, a stride-`ratio` transposed conv halving the width, residual block.
struct DecoderStageWeights: Sendable {
    let upsample: ConvTransposeWeights
    let block: ResidualBlockWeights
}

/// One pre-norm transformer layer (`x += s1 * attn(LN1(x)); x += s2 * FFN(LN2(x))`). The
/// linear weights are PyTorch `Linear` weights `[out, in]` (used as `x · Wᵀ`).
struct TransformerLayerWeights: @unchecked Sendable {
    /// `[3 * dim, dim]`: rows Q, K, V; head h owns rows `h * headDim ..< (h + 1) * headDim` of each.
    let inProjection: UnsafePointer<Float>
    /// `[dim, dim]`.
    let outProjection: UnsafePointer<Float>
    /// `[dim]` each.
    let norm1Weight: UnsafePointer<Float>
    let norm1Bias: UnsafePointer<Float>
    let norm2Weight: UnsafePointer<Float>
    let norm2Bias: UnsafePointer<Float>
    /// `[feedForward, dim]`.
    let linear1: UnsafePointer<Float>
    /// `[dim, feedForward]`.
    let linear2: UnsafePointer<Float>
    /// `[dim]` each: the learnt per-channel layer scales.
    let scale1: UnsafePointer<Float>
    let scale2: UnsafePointer<Float>
}

/// One codebook of the RVQ: `entries = embedding_sum / max(cluster_usage, eps)` and the squared
/// norm of each entry (for the `||x||^2 - 2 x.e + ||e||^2` distance).
struct CodebookWeights: @unchecked Sendable {
    /// `[codebookSize, codebookDimension]`.
    let entries: UnsafePointer<Float>
    /// `[codebookSize]`.
    let squaredNorms: UnsafePointer<Float>
}

/// The split RVQ: `rvq_first` (1 semantic codebook) and `rvq_rest` (acoustic), each with its own
/// 1x1 projections in and out (no bias), both fed the same latent.
struct QuantizerWeights: @unchecked Sendable {
    /// `[codebookDimension, dim]` each.
    let firstInput: UnsafePointer<Float>
    let restInput: UnsafePointer<Float>
    /// `[dim, codebookDimension]` each.
    let firstOutput: UnsafePointer<Float>
    let restOutput: UnsafePointer<Float>
    /// The codebooks in use: index 0 is `rvq_first`'s, 1... are `rvq_rest`'s layers 0....
    let codebooks: [CodebookWeights]
}
