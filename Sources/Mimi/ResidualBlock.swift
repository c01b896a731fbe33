import MoshiNumerics

/// SEANet's residual block, streaming: `x += conv1x1(ELU(conv_k(ELU(x))))` in place, with the
/// k-tap conv's history carried between calls (identity skip, dilation 1).
final class ResidualBlock {
    let weights: ResidualBlockWeights
    private let expand: StreamingConv
    /// `[maxSteps, dim / compress]`.
    private let hidden: FloatBuffer
    private let pool: ThreadPool?

    init(_ weights: ResidualBlockWeights, maxSteps: Int, pool: ThreadPool?) {
        self.weights = weights
        self.pool = pool
        expand = StreamingConv(weights.expand, maxSteps: maxSteps, pool: pool)
        hidden = FloatBuffer(count: maxSteps * weights.expand.outChannels)
    }

    /// Updates `x` (`[steps, dim]`, contiguous) in place.
    func run(_ x: UnsafeMutablePointer<Float>, steps: Int) {
        let dim = weights.expand.inChannels
        let hiddenWidth = weights.expand.outChannels
        elu(x, count: steps * dim, into: expand.newSteps)
        expand.run(steps: steps, into: hidden.pointer)
        eluInPlace(hidden.pointer, count: steps * hiddenWidth)
        let project = weights.project
        DenseProduct.multiplyByTransposed(rows: steps, outputs: dim, inner: hiddenWidth, hidden.pointer, lda: hiddenWidth,
                                          project.weight, ldw: hiddenWidth, into: x, ldy: dim, accumulate: true, pool: pool,
                                          panels: project.panels)
        if let bias = project.bias { DenseProduct.addBias(bias, to: x, rows: steps, channels: dim) }
    }

    func reset() { expand.reset() }
}
