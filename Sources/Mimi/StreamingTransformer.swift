import MoshiNumerics

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
    let rope: RotaryEmbedding
    let caches: [RingKVCache]
    /// Absolute position of the next step (steps since the stream started).
    private(set) var position = 0

    // Scratch, all time-major:
    private let normed: FloatBuffer      // [maxSteps, dim]
    private let qkv: FloatBuffer         // [maxSteps, 3 * dim]: Q | K | V per step
    private let attended: FloatBuffer    // [maxSteps, dim]
    private let update: FloatBuffer      // [maxSteps, dim]
    private let hidden: FloatBuffer      // [maxSteps, feedForward]
    private let scores: FloatBuffer      // [maxSteps, context]
    private let cosines: FloatBuffer     // [maxSteps, headDim / 2]
    private let sines: FloatBuffer       // [maxSteps, headDim / 2]
    private let visible: UnsafeMutablePointer<Bool>   // [maxSteps, context]: may query t see slot s
    private let pool: ThreadPool?

    init(layers: [TransformerLayerWeights], config: MimiConfig, maxSteps: Int, pool: ThreadPool?) {
        self.pool = pool
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
        scores = FloatBuffer(count: maxSteps * config.transformerContext)
        cosines = FloatBuffer(count: maxSteps * headDim / 2)
        sines = FloatBuffer(count: maxSteps * headDim / 2)
        visible = .allocate(capacity: maxSteps * config.transformerContext)
        visible.initialize(repeating: false, count: maxSteps * config.transformerContext)
    }

    deinit { visible.deallocate() }

    /// Runs `steps` new latent steps (`[steps, dim]`, contiguous) through every layer, in place.
    func run(_ x: UnsafeMutablePointer<Float>, steps: Int) {
        precondition(steps > 0 && steps <= maxSteps, "StreamingTransformer.run: \(steps) steps (at most \(maxSteps))")
        prepareRotations(steps: steps)
        for (layer, cache) in zip(layers, caches) {
            runLayer(layer, cache: cache, x, steps: steps)
        }
        position += steps
    }

    /// The RoPE rotations of the next `steps` positions (before a run's layers).
    func prepareRotations(steps: Int) {
        let half = headDim / 2
        for t in 0..<steps {
            rope.rotation(position: position + t, cos: cosines.pointer + t * half, sin: sines.pointer + t * half)
        }
    }

    /// Rotates the queries and keys of `steps` rows of `qkv` (`[steps, 3 * dim]`) to their
    /// positions and writes the keys and values into `cache`.
    func rotateAndCache(_ qkv: UnsafeMutablePointer<Float>, steps: Int, cache: RingKVCache) {
        let d = dim
        let half = headDim / 2
        for t in 0..<steps {
            let row = qkv + t * 3 * d
            rope.rotate(row, heads: heads, cos: cosines.pointer + t * half, sin: sines.pointer + t * half)
            rope.rotate(row + d, heads: heads, cos: cosines.pointer + t * half, sin: sines.pointer + t * half)
            cache.write(position: position + t, key: row + d, value: row + 2 * d)
        }
    }

    /// After a batched run of `steps` steps: the next position.
    func advance(steps: Int) { position += steps }

    private func runLayer(_ layer: TransformerLayerWeights, cache: RingKVCache, _ x: UnsafeMutablePointer<Float>, steps: Int) {
        let d = dim
        // Self-attention block.
        layerNorm(x, weight: layer.norm1Weight, bias: layer.norm1Bias, eps: epsilon, rows: steps, channels: d,
                  into: normed.pointer)
        DenseProduct.multiplyByTransposed(rows: steps, outputs: 3 * d, inner: d, normed.pointer, lda: d,
                             layer.inProjection, ldw: d, into: qkv.pointer, ldy: 3 * d, pool: pool)
        rotateAndCache(qkv.pointer, steps: steps, cache: cache)
        attend(steps: steps, cache: cache, qkv: qkv.pointer, into: attended.pointer)
        DenseProduct.multiplyByTransposed(rows: steps, outputs: d, inner: d, attended.pointer, lda: d,
                             layer.outProjection, ldw: d, into: update.pointer, ldy: d, pool: pool)
        addChannelScaledInPlace(update.pointer, channelScale: layer.scale1, to: x, rows: steps, channels: d)

        // Feed-forward block.
        layerNorm(x, weight: layer.norm2Weight, bias: layer.norm2Bias, eps: epsilon, rows: steps, channels: d,
                  into: normed.pointer)
        DenseProduct.multiplyByTransposed(rows: steps, outputs: feedForward, inner: d, normed.pointer, lda: d,
                             layer.linear1, ldw: d, into: hidden.pointer, ldy: feedForward, pool: pool)
        geluInPlace(hidden.pointer, count: steps * feedForward)
        DenseProduct.multiplyByTransposed(rows: steps, outputs: d, inner: feedForward, hidden.pointer, lda: feedForward,
                             layer.linear2, ldw: feedForward, into: update.pointer, ldy: d, pool: pool)
        addChannelScaledInPlace(update.pointer, channelScale: layer.scale2, to: x, rows: steps, channels: d)
    }

    /// Scaled dot-product attention of the `steps` new queries (in `qkv`) over the cached
    /// steps each may see, per head, into `attended` (`[steps, dim]`). Scores are computed for
    /// every slot of the ring at once (one pass over the keys for all queries), then the slots
    /// a query may not see (empty, or outside `0 <= q - k < context`) are set to -inf.
    func attend(steps: Int, cache: RingKVCache, qkv: UnsafePointer<Float>, into attended: UnsafeMutablePointer<Float>) {
        let d = dim
        let context = cache.capacity
        let scale = 1 / Float(headDim).squareRoot()
        for t in 0..<steps {
            let position = self.position + t
            for slot in 0..<context {
                let p = cache.positions[slot]
                visible[t * context + slot] = p >= 0 && p <= position && position - p < context
            }
        }
        for h in 0..<heads {
            let offset = h * headDim
            // scores[t, slot] = q[t, h] . k[slot, h]
            DenseProduct.multiplyByTransposed(rows: steps, outputs: context, inner: headDim, qkv + offset, lda: 3 * d,
                                 cache.keys.pointer + offset, ldw: d, into: scores.pointer, ldy: context, pool: nil)
            for t in 0..<steps {
                let w = scores.pointer + t * context
                let mask = visible + t * context
                for slot in 0..<context { w[slot] = mask[slot] ? w[slot] * scale : -.infinity }
                softmaxInPlace(w, count: context)
                let out = attended + t * d + offset
                out.update(repeating: 0, count: headDim)
                for slot in 0..<context where mask[slot] {
                    accumulate(cache.values.pointer + slot * d + offset, weight: w[slot], into: out)
                }
            }
        }
    }

    /// `out[i] += weight * v[i]` over one head (`headDim` floats).
    @inline(__always)
    private func accumulate(_ v: UnsafePointer<Float>, weight: Float, into out: UnsafeMutablePointer<Float>) {
        var i = 0
        let w = SIMD8<Float>(repeating: weight)
        while i + 8 <= headDim {
            let acc = UnsafeRawPointer(out + i).loadUnaligned(as: SIMD8<Float>.self)
                + w * UnsafeRawPointer(v + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(out + i).storeBytes(of: acc, as: SIMD8<Float>.self)
            i += 8
        }
        while i < headDim {
            out[i] += weight * v[i]
            i += 1
        }
    }

    /// Back to the start of a stream: empty caches, position 0.
    func reset() {
        for cache in caches { cache.reset() }
        position = 0
    }
}
