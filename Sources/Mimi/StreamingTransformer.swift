import MoshiNumerics

/// Mimi's encoder or decoder transformer, streaming (`ProjectedTransformer` with identity
/// projections): Numerics' one streaming layer (`TransformerLayer`, `TransformerLayerStepper`)
/// configured as Mimi's, pre-norm `x += s1 * attn(LN1(x)); x += s2 * linear2(GELU(linear1(LN2(x))))`
/// with LayerNorm with bias, exact GELU, learnt layer scales, no linear biases, causal multi-head
/// attention over a KV cache of `context` steps (`KVCache`, f32), RoPE at absolute step positions.
///
/// `run` updates `[steps, dim]` in place; every buffer is allocated in `init`.
final class StreamingTransformer {
    let layers: [TransformerLayer]
    let dim: Int
    let headDim: Int
    let maxSteps: Int
    let rope: RotaryEmbedding
    let caches: [KVCache]
    private let stepper: TransformerLayerStepper
    /// `[maxSteps, headDim / 2]`: the rotations of the next run's steps.
    let cosines: FloatBuffer
    let sines: FloatBuffer
    private let pool: ThreadPool?

    init(layers weights: [TransformerLayerWeights], config: MimiConfig, maxSteps: Int, pool: ThreadPool?) {
        self.pool = pool
        let d = config.seanetDimension
        let ff = config.transformerFeedForward
        let eps = config.layerNormEpsilon
        layers = weights.map { w in
            TransformerLayer(norm1: .layer(weight: w.norm1Weight, bias: w.norm1Bias, epsilon: eps),
                             norm2: .layer(weight: w.norm2Weight, bias: w.norm2Bias, epsilon: eps),
                             inProjection: .dense(w.inProjection, outputs: 3 * d, inner: d),
                             outProjection: .dense(w.outProjection, outputs: d, inner: d),
                             feedForward: .plain(.gelu),
                             linearIn: .dense(w.linear1, outputs: ff, inner: d),
                             linearOut: .dense(w.linear2, outputs: d, inner: ff),
                             layerScale: .init(attention: w.scale1, feedForward: w.scale2))
        }
        dim = d
        headDim = config.headDimension
        self.maxSteps = maxSteps
        rope = RotaryEmbedding(headDim: headDim, maxPeriod: config.ropeMaxPeriod)
        caches = weights.map { _ in KVCache(heads: config.transformerHeads, headDim: config.headDimension, capacity: config.transformerContext) }
        stepper = TransformerLayerStepper(dim: d, heads: config.transformerHeads, hidden: ff, gated: false, rows: maxSteps)
        cosines = FloatBuffer(count: maxSteps * headDim / 2)
        sines = FloatBuffer(count: maxSteps * headDim / 2)
    }

    /// Absolute position of the next step (steps since the stream started).
    var position: Int { caches.first?.count ?? 0 }

    /// Runs `steps` new latent steps (`[steps, dim]`, contiguous) through every layer, in place.
    func run(_ x: UnsafeMutablePointer<Float>, steps: Int) {
        precondition(steps > 0 && steps <= maxSteps, "StreamingTransformer.run: \(steps) steps (at most \(maxSteps))")
        prepareRotations(steps: steps, cos: cosines.pointer, sin: sines.pointer)
        for (index, layer) in layers.enumerated() {
            stepper.run(layer, x, sequences: 1, steps: steps, cache: { _ in caches[index] }, rope: rope,
                        cosines: cosines.pointer, sines: sines.pointer, pool: pool)
        }
    }

    /// The RoPE rotations of the next `steps` positions into `cos`/`sin` (`[steps, headDim / 2]`).
    func prepareRotations(steps: Int, cos: UnsafeMutablePointer<Float>, sin: UnsafeMutablePointer<Float>) {
        let half = headDim / 2
        for t in 0..<steps {
            rope.rotation(position: position + t, cos: cos + t * half, sin: sin + t * half)
        }
    }

    /// Back to the start of a stream: empty caches, position 0.
    func reset() {
        for cache in caches { cache.reset() }
    }
}
