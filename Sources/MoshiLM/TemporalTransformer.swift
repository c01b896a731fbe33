import Numerics

/// The temporal transformer stepped one token at a time: per layer, pre-norm multi-head
/// attention with RoPE at the absolute step over a ring KV cache of `context` steps, then a
/// gated feed-forward; `out_norm` at the end. Every buffer is allocated in `init`; `step`
/// allocates nothing, takes no lock and does no I/O.
final class TemporalTransformer {
    private let config: LMConfig
    private let layers: [(weights: TemporalLayerWeights, inProjection: Matvec, outProjection: Matvec, linearIn: Matvec, linearOut: Matvec)]
    let caches: [KVCache]
    private let rope: RotaryEmbedding?
    private let normed: FloatBuffer
    private let qkv: FloatBuffer
    private let attended: FloatBuffer
    private let gated: FloatBuffer
    private let hidden: FloatBuffer
    private let cosines: FloatBuffer
    private let sines: FloatBuffer
    private let scale: Float

    init(weights: LMWeights, precision: MatvecPrecision, scratch: MatvecScratch, cachePrecision: KVCachePrecision) throws(MatvecError) {
        let c = weights.config
        config = c
        var layers: [(TemporalLayerWeights, Matvec, Matvec, Matvec, Matvec)] = []
        for l in weights.temporalLayers {
            layers.append((l, try Matvec(l.inProjection, precision: precision, scratch: scratch),
                           try Matvec(l.outProjection, precision: precision, scratch: scratch),
                           try Matvec(l.linearIn, precision: precision, scratch: scratch),
                           try Matvec(l.linearOut, precision: precision, scratch: scratch)))
        }
        self.layers = layers
        caches = (0..<c.layers).map { _ in KVCache(heads: c.heads, headDim: c.headDim, capacity: c.context, precision: cachePrecision) }
        rope = c.positionalEncoding == .rope ? RotaryEmbedding(headDim: c.headDim, maxPeriod: Float(c.maxPeriod)) : nil
        normed = FloatBuffer(count: c.dim)
        qkv = FloatBuffer(count: 3 * c.dim)
        attended = FloatBuffer(count: c.dim)
        gated = FloatBuffer(count: 2 * c.gatedHidden)
        hidden = FloatBuffer(count: c.gatedHidden)
        cosines = FloatBuffer(count: max(c.headDim / 2, 1))
        sines = FloatBuffer(count: max(c.headDim / 2, 1))
        scale = 1 / Float(c.headDim).squareRoot()
    }

    /// Absolute position of the next step.
    var position: Int { caches.first?.count ?? 0 }

    /// Runs one step: `x` (`[dim]`, the embedding sum) becomes the last layer's output, and
    /// `out` gets it after `out_norm`.
    func step(_ x: UnsafeMutablePointer<Float>, outNorm: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        let c = config
        let d = c.dim
        if let rope { rope.rotation(position: position, cos: cosines.pointer, sin: sines.pointer) }
        for (index, layer) in layers.enumerated() {
            let cache = caches[index]
            layer.weights.norm1.withUnsafeBufferPointer { rmsNorm(x, alpha: $0.baseAddress!, eps: c.normEpsilon, rows: 1, channels: d, into: normed.pointer) }
            layer.inProjection.run(normed.pointer, into: qkv.pointer, pool: pool)
            if let rope {
                rope.rotate(qkv.pointer, heads: c.heads, cos: cosines.pointer, sin: sines.pointer)
                rope.rotate(qkv.pointer + d, heads: c.heads, cos: cosines.pointer, sin: sines.pointer)
            }
            cache.append(key: qkv.pointer + d, value: qkv.pointer + 2 * d)
            cache.attend(qkv.pointer, scale: scale, into: attended.pointer, pool: pool)
            layer.outProjection.run(attended.pointer, into: x, pool: pool, accumulate: true)

            layer.weights.norm2.withUnsafeBufferPointer { rmsNorm(x, alpha: $0.baseAddress!, eps: c.normEpsilon, rows: 1, channels: d, into: normed.pointer) }
            layer.linearIn.run(normed.pointer, into: gated.pointer, pool: pool)
            c.gating.gate(gated.pointer, hidden: c.gatedHidden, into: hidden.pointer)
            layer.linearOut.run(hidden.pointer, into: x, pool: pool, accumulate: true)
        }
        rmsNorm(x, alpha: outNorm, eps: c.normEpsilon, rows: 1, channels: d, into: out)
    }

    /// Bytes of keys and values the next step's attention reads.
    var cacheBytesReadPerStep: Int {
        caches.reduce(0) { $0 + 2 * $1.heads * min($1.count + 1, $1.capacity) * $1.headDim * $1.precision.bytesPerValue }
    }

    var cacheStorageBytes: Int { caches.reduce(0) { $0 + $1.storageBytes } }

    func reset() { for cache in caches { cache.reset() } }
}
