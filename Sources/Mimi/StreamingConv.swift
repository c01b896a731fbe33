import Glibc
import MoshiNumerics

/// A causal convolution's streaming state (the reference's `StreamingConv1d`): an input buffer
/// whose first `history = kernelSize - stride` steps hold the end of the previous call's input,
/// followed by room for the new steps. A producer writes its output straight into `newSteps`;
/// `run` convolves history + new steps ("valid", no padding) and keeps the last `history` steps.
///
/// At the start and after `reset` the history is zeros, or, for a replicate-padded conv (the
/// downsampler), copies of the first input step of the first call.
final class StreamingConv {
    let weights: ConvWeights
    let maxSteps: Int
    let replicatePadding: Bool
    /// `[history + maxSteps, inChannels]`, time-major.
    private let input: FloatBuffer
    /// `[maxSteps / stride, kernelSize * inChannels]`: the input windows side by side (im2col),
    /// for OpenBLAS's sgemm when windows overlap (`kernelSize > stride`: sgemm's rows may not);
    /// nil otherwise. The panel and few-row kernels read overlapping windows in place.
    private let windows: FloatBuffer?
    private var started = false
    /// Splits the product over its threads (nil: the calling thread).
    private let pool: ThreadPool?

    init(_ weights: ConvWeights, maxSteps: Int, replicatePadding: Bool = false, pool: ThreadPool?) {
        self.pool = pool
        precondition(maxSteps % weights.stride == 0, "a streaming conv takes whole strides")
        self.weights = weights
        self.maxSteps = maxSteps
        self.replicatePadding = replicatePadding
        input = FloatBuffer(count: (weights.history + maxSteps) * weights.inChannels)
        let panelKernel = weights.panels != nil && DenseProduct.panelKernelRuns(path: .best)
        windows = weights.kernelSize > weights.stride && !panelKernel
            ? FloatBuffer(count: maxSteps / weights.stride * weights.windowLength) : nil
    }

    /// Where the caller writes the new input steps (`[steps, inChannels]`).
    var newSteps: UnsafeMutablePointer<Float> { input.pointer + weights.history * weights.inChannels }

    /// Output steps for `steps` new input steps.
    func outputSteps(for steps: Int) -> Int { steps / weights.stride }

    /// Convolves the `steps` new input steps (already in `newSteps`) with the history into
    /// `output` (`[steps / stride, outChannels]`, contiguous), adding to it when `accumulate`.
    func run(steps: Int, into output: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        let (a, lda, count) = prepareProduct(steps: steps)
        DenseProduct.multiplyByTransposed(rows: count, outputs: weights.outChannels, inner: weights.windowLength,
                                          a, lda: lda, weights.weight, ldw: weights.windowLength,
                                          into: output, ldy: weights.outChannels, accumulate: accumulate, pool: pool,
                                          panels: weights.panels)
        finishProduct(steps: steps, output: output, rows: count)
    }

    /// A run's first part (`MimiBatch` multiplies several streams' rows at once): the product's
    /// left side for the `steps` new steps, `rows` rows of `windowLength` floats, `lda` apart.
    func prepareProduct(steps: Int) -> (a: UnsafePointer<Float>, lda: Int, rows: Int) {
        precondition(steps > 0 && steps <= maxSteps && steps % weights.stride == 0,
                     "StreamingConv.run: \(steps) steps (at most \(maxSteps), whole strides of \(weights.stride))")
        let cin = weights.inChannels
        let history = weights.history
        let x = input.pointer
        if replicatePadding && !started {
            for h in 0..<history { (x + h * cin).update(from: newSteps, count: cin) }
        }
        started = true
        let count = steps / weights.stride
        // Each window is `kernelSize` consecutive steps, `stride` steps after the previous one.
        guard let windows, count > DenseProduct.fewRowLimit else { return (UnsafePointer(x), weights.stride * cin, count) }
        // Windows overlap: lay them out side by side (each is `kernelSize` consecutive steps).
        let length = weights.windowLength
        for t in 0..<count {
            (windows.pointer + t * length).update(from: x + t * weights.stride * cin, count: length)
        }
        return (UnsafePointer(windows.pointer), length, count)
    }

    /// A run's last part, once `output` holds the product (`[rows, outChannels]`): the bias,
    /// and the history kept for the next call.
    func finishProduct(steps: Int, output: UnsafeMutablePointer<Float>, rows: Int) {
        if let bias = weights.bias { DenseProduct.addBias(bias, to: output, rows: rows, channels: weights.outChannels) }
        let history = weights.history
        if history > 0 {
            // Keep the last `history` input steps for the next call (the ranges may overlap).
            let cin = weights.inChannels
            let x = input.pointer
            memmove(x, x + steps * cin, history * cin * MemoryLayout<Float>.stride)
        }
    }

    /// Back to the start of a stream: zero history (re-arming the replicate padding).
    func reset() {
        input.pointer.update(repeating: 0, count: weights.history * weights.inChannels)
        started = false
    }
}
