import MoshiNumerics

/// A transposed convolution's streaming state (the reference's `StreamingConvTranspose1d`, for
/// kernel = 2 x stride): each input step t writes `lower · x[t]` to output block t and
/// `upper · x[t]` to block t + 1. The block after the last input step is not complete until
/// the next call: it is kept (without bias) as `carry` and added to the next call's first block.
/// So streaming output equals the full transposed convolution, trimmed on the right.
final class StreamingConvTranspose {
    let weights: ConvTransposeWeights
    let maxSteps: Int
    /// `[stride, outChannels]`: the partial block carried into the next call (no bias).
    private let carry: FloatBuffer
    /// `[maxSteps, stride * outChannels]`: `upper · x[t]` for every input step.
    private let spill: FloatBuffer
    private let pool: ThreadPool?

    init(_ weights: ConvTransposeWeights, maxSteps: Int, pool: ThreadPool?) {
        self.pool = pool
        self.weights = weights
        self.maxSteps = maxSteps
        carry = FloatBuffer(count: weights.blockLength)
        spill = FloatBuffer(count: maxSteps * weights.blockLength)
    }

    /// Upsamples `steps` input steps (`[steps, inChannels]`) into `output`
    /// (`[steps * stride, outChannels]`, contiguous, overwritten).
    func run(_ input: UnsafePointer<Float>, steps: Int, into output: UnsafeMutablePointer<Float>) {
        precondition(steps > 0 && steps <= maxSteps, "StreamingConvTranspose.run: \(steps) steps (at most \(maxSteps))")
        let cin = weights.inChannels
        let block = weights.blockLength
        // Block t = lower · x[t] + upper · x[t - 1]; the first block takes the previous call's
        // carry, the last step's upper part becomes the next carry. Each half of the weight is
        // read once.
        DenseProduct.multiplyByTransposed(rows: steps, outputs: block, inner: cin, input, lda: cin,
                                          weights.lower, ldw: cin, into: output, ldy: block, pool: pool,
                                          panels: weights.lowerPanels)
        DenseProduct.multiplyByTransposed(rows: steps, outputs: block, inner: cin, input, lda: cin,
                                          weights.upper, ldw: cin, into: spill.pointer, ldy: block, pool: pool,
                                          panels: weights.upperPanels)
        finish(steps: steps, output: output, spill: spill.pointer)
    }

    /// A run's last part (`MimiBatch` multiplies several streams' rows at once), once `output`
    /// holds `lower · x[t]` and `spill` holds `upper · x[t]` (`[steps, blockLength]` each):
    /// the carries and the bias.
    func finish(steps: Int, output: UnsafeMutablePointer<Float>, spill: UnsafePointer<Float>) {
        let block = weights.blockLength
        addInPlace(carry.pointer, to: output, count: block)
        addInPlace(spill, to: output + block, count: (steps - 1) * block)
        carry.pointer.update(from: spill + (steps - 1) * block, count: block)
        if let bias = weights.bias {
            DenseProduct.addBias(bias, to: output, rows: steps * weights.stride, channels: weights.outChannels)
        }
    }

    /// Back to the start of a stream: no carry.
    func reset() { carry.fill(0) }
}

/// The depthwise stride-2 transposed conv (kernel 4, no bias) that brings the decoder from the
/// frame rate to the SEANet rate: `out[2t + k, c] += w[k, c] * x[t, c]`, with the same carry
/// rule as `StreamingConvTranspose`.
final class StreamingDepthwiseUpsample {
    let dimension: Int
    /// `[4, dimension]`, tap-major.
    let weight: UnsafePointer<Float>
    /// `[2, dimension]`.
    private let carry: FloatBuffer

    init(weight: UnsafePointer<Float>, dimension: Int) {
        self.weight = weight
        self.dimension = dimension
        carry = FloatBuffer(count: 2 * dimension)
    }

    /// `[steps, dimension]` in, `[2 * steps, dimension]` out (overwritten).
    func run(_ input: UnsafePointer<Float>, steps: Int, into output: UnsafeMutablePointer<Float>) {
        let d = dimension
        output.update(from: carry.pointer, count: 2 * d)
        (output + 2 * d).update(repeating: 0, count: 2 * (steps - 1) * d)
        carry.fill(0)
        for t in 0..<steps {
            let x = input + t * d
            for k in 0..<4 {
                let row = 2 * t + k
                let y = row < 2 * steps ? output + row * d : carry.pointer + (row - 2 * steps) * d
                let w = weight + k * d
                for c in 0..<d { y[c] += w[c] * x[c] }
            }
        }
    }

    func reset() { carry.fill(0) }
}
