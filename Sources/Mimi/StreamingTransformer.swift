import Numerics

/// Mimi's encoder or decoder transformer, streaming (`ProjectedTransformer` with identity
/// projections): pre-norm layers `x += s1 * attn(LN1(x)); x += s2 * linear2(GELU(linear1(LN2(x))))`
/// with causal multi-head attention over a ring KV cache of `context` steps, RoPE at absolute
/// step positions, LayerNorm with bias, exact GELU, no linear biases.
///
/// `run` updates `[steps, dim]` in place; every buffer is allocated in `init`.
final class StreamingTransformer {
    let layers: [TransformerLayerWeights]
    let dim: Int
    let heads: Int
    let headDim: Int
    let feedForward: Int
    let maxSteps: Int
    let epsilon: Float
    private let rope: RotaryEmbedding
    private let caches: [RingKVCache]
    /// Absolute position of the next step (steps since the stream started).
    private(set) var position = 0

    // Scratch, all time-major:
    private let normed: FloatBuffer      // [maxSteps, dim]
    private let qkv: FloatBuffer         // [maxSteps, 3 * dim]: Q | K | V per step
    private let attended: FloatBuffer    // [maxSteps, dim]
    private let update: FloatBuffer      // [maxSteps, dim]
    private let hidden: FloatBuffer      // [maxSteps, feedForward]
    private let scores: FloatBuffer      // [context]
    private let cosines: FloatBuffer     // [maxSteps, headDim / 2]
    private let sines: FloatBuffer       // [maxSteps, headDim / 2]
    private let slots: UnsafeMutablePointer<Int>   // [context]

    init(layers: [TransformerLayerWeights], config: MimiConfig, maxSteps: Int) {
        self.layers = layers
        dim = config.seanetDimension
        heads = config.transformerHeads
        headDim = config.headDimension
        feedForward = config.transformerFeedForward
        self.maxSteps = maxSteps
        epsilon = config.layerNormEpsilon
        rope = RotaryEmbedding(headDim: headDim, maxPeriod: config.ropeMaxPeriod)
        caches = layers.map { _ in RingKVCache(capacity: config.transformerContext, width: config.seanetDimension) }
        normed = FloatBuffer(count: maxSteps * dim)
        qkv = FloatBuffer(count: maxSteps * 3 * dim)
        attended = FloatBuffer(count: maxSteps * dim)
        update = FloatBuffer(count: maxSteps * dim)
        hidden = FloatBuffer(count: maxSteps * feedForward)
        scores = FloatBuffer(count: config.transformerContext)
        cosines = FloatBuffer(count: maxSteps * headDim / 2)
        sines = FloatBuffer(count: maxSteps * headDim / 2)
        slots = .allocate(capacity: config.transformerContext)
        slots.initialize(repeating: 0, count: config.transformerContext)
    }

    deinit { slots.deallocate() }

    /// Runs `steps` new latent steps (`[steps, dim]`, contiguous) through every layer, in place.
    func run(_ x: UnsafeMutablePointer<Float>, steps: Int) {
        precondition(steps > 0 && steps <= maxSteps, "StreamingTransformer.run: \(steps) steps (at most \(maxSteps))")
        let half = headDim / 2
        for t in 0..<steps {
            rope.rotation(position: position + t, cos: cosines.pointer + t * half, sin: sines.pointer + t * half)
        }
        for (layer, cache) in zip(layers, caches) {
            runLayer(layer, cache: cache, x, steps: steps)
        }
        position += steps
    }

    private func runLayer(_ layer: TransformerLayerWeights, cache: RingKVCache, _ x: UnsafeMutablePointer<Float>, steps: Int) {
        let d = dim
        // Self-attention block.
        layerNorm(x, weight: layer.norm1Weight, bias: layer.norm1Bias, eps: epsilon, rows: steps, channels: d,
                  into: normed.pointer)
        multiplyByTransposed(rows: steps, outputs: 3 * d, inner: d, normed.pointer, lda: d,
                             layer.inProjection, ldw: d, into: qkv.pointer, ldy: 3 * d)
        let half = headDim / 2
        for t in 0..<steps {
            let row = qkv.pointer + t * 3 * d
            rope.rotate(row, heads: heads, cos: cosines.pointer + t * half, sin: sines.pointer + t * half)
            rope.rotate(row + d, heads: heads, cos: cosines.pointer + t * half, sin: sines.pointer + t * half)
            cache.write(position: position + t, key: row + d, value: row + 2 * d)
        }
        for t in 0..<steps {
            attend(query: qkv.pointer + t * 3 * d, position: position + t, cache: cache, into: attended.pointer + t * d)
        }
        multiplyByTransposed(rows: steps, outputs: d, inner: d, attended.pointer, lda: d,
                             layer.outProjection, ldw: d, into: update.pointer, ldy: d)
        addChannelScaledInPlace(update.pointer, channelScale: layer.scale1, to: x, rows: steps, channels: d)

        // Feed-forward block.
        layerNorm(x, weight: layer.norm2Weight, bias: layer.norm2Bias, eps: epsilon, rows: steps, channels: d,
                  into: normed.pointer)
        multiplyByTransposed(rows: steps, outputs: feedForward, inner: d, normed.pointer, lda: d,
                             layer.linear1, ldw: d, into: hidden.pointer, ldy: feedForward)
        geluInPlace(hidden.pointer, count: steps * feedForward)
        multiplyByTransposed(rows: steps, outputs: d, inner: feedForward, hidden.pointer, lda: feedForward,
                             layer.linear2, ldw: feedForward, into: update.pointer, ldy: d)
        addChannelScaledInPlace(update.pointer, channelScale: layer.scale2, to: x, rows: steps, channels: d)
    }

    /// Scaled dot-product attention of one query row (`[heads, headDim]`) at `position` over the
    /// cached steps it may see, per head, into `output` (`[heads, headDim]`).
    private func attend(query: UnsafePointer<Float>, position: Int, cache: RingKVCache, into output: UnsafeMutablePointer<Float>) {
        let count = cache.visibleSlots(from: position, into: slots)
        let scale = 1 / Float(headDim).squareRoot()
        let w = scores.pointer
        for h in 0..<heads {
            let q = query + h * headDim
            for j in 0..<count {
                let k = cache.keys.pointer + slots[j] * dim + h * headDim
                w[j] = dotProduct(q, k, count: headDim) * scale
            }
            softmaxInPlace(w, count: count)
            let out = output + h * headDim
            out.update(repeating: 0, count: headDim)
            for j in 0..<count {
                addScaledInPlace(cache.values.pointer + slots[j] * dim + h * headDim, scale: w[j], to: out, count: headDim)
            }
        }
    }

    /// Back to the start of a stream: empty caches, position 0.
    func reset() {
        for cache in caches { cache.reset() }
        position = 0
    }
}
