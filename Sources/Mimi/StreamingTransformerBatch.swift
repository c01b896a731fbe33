import MoshiNumerics

/// Several streams' `StreamingTransformer`s (one per conversation, each with its own KV caches
/// and position) run as one: each layer's four products take every stream's rows stacked, so
/// each weight matrix is read once for all of them, while norms, RoPE, the caches and attention
/// stay per stream. Every row is computed by the same few-row kernel as when its stream runs
/// alone (`DenseProduct.fewRows`; a row's result depends neither on the other rows nor on how
/// the columns are split over threads), so each stream's output is bit for bit what it gets alone.
///
/// Scratch is sized at `init` for `capacity` streams; `run` allocates nothing.
final class StreamingTransformerBatch {
    let capacity: Int
    let maxSteps: Int
    let dim: Int
    let feedForward: Int
    private let normed: FloatBuffer      // [capacity * maxSteps, dim]
    private let qkv: FloatBuffer         // [capacity * maxSteps, 3 * dim]
    private let attended: FloatBuffer    // [capacity * maxSteps, dim]
    private let update: FloatBuffer      // [capacity * maxSteps, dim]
    private let hidden: FloatBuffer      // [capacity * maxSteps, feedForward]

    init(config: MimiConfig, capacity: Int) {
        self.capacity = capacity
        maxSteps = config.stepsPerFrame
        dim = config.seanetDimension
        feedForward = config.transformerFeedForward
        let rows = capacity * maxSteps
        normed = FloatBuffer(count: rows * dim)
        qkv = FloatBuffer(count: rows * 3 * dim)
        attended = FloatBuffer(count: rows * dim)
        update = FloatBuffer(count: rows * dim)
        hidden = FloatBuffer(count: rows * feedForward)
    }

    /// Runs `steps` new steps of `count` streams: stream `i` is `transformers[i]` over
    /// `inputs[i]` (`[steps, dim]`, updated in place). The transformers share their weights.
    func run(_ transformers: UnsafePointer<Unmanaged<StreamingTransformer>>, inputs: UnsafePointer<UnsafeMutablePointer<Float>>,
             count: Int, steps: Int, pool: ThreadPool?) {
        precondition(count >= 1 && count <= capacity && steps >= 1 && steps <= maxSteps,
                     "StreamingTransformerBatch.run: \(count) streams of \(steps) steps (at most \(capacity) of \(maxSteps))")
        let first = transformers[0].takeUnretainedValue()
        let d = dim
        let rows = count * steps
        for i in 0..<count { transformers[i].takeUnretainedValue().prepareRotations(steps: steps) }
        for (index, layer) in first.layers.enumerated() {
            // Self-attention block.
            for i in 0..<count {
                let t = transformers[i].takeUnretainedValue()
                layerNorm(inputs[i], weight: layer.norm1Weight, bias: layer.norm1Bias, eps: t.epsilon, rows: steps, channels: d,
                          into: normed.pointer + i * steps * d)
            }
            DenseProduct.fewRows(rows: rows, outputs: 3 * d, inner: d, normed.pointer, lda: d,
                                 layer.inProjection, ldw: d, into: qkv.pointer, ldy: 3 * d, pool: pool)
            for i in 0..<count {
                let t = transformers[i].takeUnretainedValue()
                let cache = t.caches[index]
                let rowsQKV = qkv.pointer + i * steps * 3 * d
                t.rotateAndCache(rowsQKV, steps: steps, cache: cache)
                t.attend(steps: steps, cache: cache, qkv: rowsQKV, into: attended.pointer + i * steps * d)
            }
            DenseProduct.fewRows(rows: rows, outputs: d, inner: d, attended.pointer, lda: d,
                                 layer.outProjection, ldw: d, into: update.pointer, ldy: d, pool: pool)
            for i in 0..<count {
                addChannelScaledInPlace(update.pointer + i * steps * d, channelScale: layer.scale1, to: inputs[i], rows: steps, channels: d)
            }

            // Feed-forward block.
            for i in 0..<count {
                let t = transformers[i].takeUnretainedValue()
                layerNorm(inputs[i], weight: layer.norm2Weight, bias: layer.norm2Bias, eps: t.epsilon, rows: steps, channels: d,
                          into: normed.pointer + i * steps * d)
            }
            DenseProduct.fewRows(rows: rows, outputs: feedForward, inner: d, normed.pointer, lda: d,
                                 layer.linear1, ldw: d, into: hidden.pointer, ldy: feedForward, pool: pool)
            geluInPlace(hidden.pointer, count: rows * feedForward)
            DenseProduct.fewRows(rows: rows, outputs: d, inner: feedForward, hidden.pointer, lda: feedForward,
                                 layer.linear2, ldw: feedForward, into: update.pointer, ldy: d, pool: pool)
            for i in 0..<count {
                addChannelScaledInPlace(update.pointer + i * steps * d, channelScale: layer.scale2, to: inputs[i], rows: steps, channels: d)
            }
        }
        for i in 0..<count { transformers[i].takeUnretainedValue().advance(steps: steps) }
    }
}
