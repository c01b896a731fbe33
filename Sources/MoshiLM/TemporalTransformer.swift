import MoshiNumerics

/// The temporal transformer stepped one token at a time: per layer, pre-norm multi-head
/// attention with RoPE at the absolute step over a ring KV cache of `context` steps, then a
/// gated feed-forward; `out_norm` at the end. Every buffer is allocated in `init`; `step`
/// allocates nothing, takes no lock and does no I/O.
final class TemporalTransformer {
    private let config: LMConfig
    private let layers: [(weights: TemporalLayerWeights, products: GatedLayerProducts)]
    let caches: [KVCache]
    private let stepper: GatedLayerStepper
    private let rope: RotaryEmbedding?
    private let cosines: FloatBuffer
    private let sines: FloatBuffer

    init(weights: LMWeights, precision: MatvecPrecision, scratch: MatvecScratch, cachePrecision: KVCachePrecision) throws(MatvecError) {
        let c = weights.config
        config = c
        var layers: [(TemporalLayerWeights, GatedLayerProducts)] = []
        for l in weights.temporalLayers {
            layers.append((l, try GatedLayerProducts(inProjection: l.inProjection, outProjection: l.outProjection,
                                                     linearIn: l.linearIn, linearOut: l.linearOut, precision: precision, scratch: scratch)))
        }
        self.layers = layers
        caches = (0..<c.layers).map { _ in KVCache(heads: c.heads, headDim: c.headDim, capacity: c.context, precision: cachePrecision) }
        stepper = GatedLayerStepper(dim: c.dim, heads: c.heads, hidden: c.gatedHidden, epsilon: c.normEpsilon, gating: c.gating)
        rope = c.positionalEncoding == .rope ? RotaryEmbedding(headDim: c.headDim, maxPeriod: Float(c.maxPeriod)) : nil
        cosines = FloatBuffer(count: max(c.headDim / 2, 1))
        sines = FloatBuffer(count: max(c.headDim / 2, 1))
    }

    /// Absolute position of the next step.
    var position: Int { caches.first?.count ?? 0 }

    /// Runs one step: `x` (`[dim]`, the embedding sum) becomes the last layer's output, and
    /// `out` gets it after `out_norm`.
    func step(_ x: UnsafeMutablePointer<Float>, outNorm: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        var rotation: (RotaryEmbedding, UnsafePointer<Float>, UnsafePointer<Float>)? = nil
        if let rope {
            rope.rotation(position: position, cos: cosines.pointer, sin: sines.pointer)
            rotation = (rope, UnsafePointer(cosines.pointer), UnsafePointer(sines.pointer))
        }
        for (index, layer) in layers.enumerated() {
            stepper.step(x, norm1: layer.weights.norm1, norm2: layer.weights.norm2, products: layer.products,
                         cache: caches[index], rotation: rotation, pool: pool)
        }
        rmsNorm(x, alpha: outNorm, eps: config.normEpsilon, rows: 1, channels: config.dim, into: out)
    }

    /// Bytes of keys and values the next step's attention reads.
    var cacheBytesReadPerStep: Int {
        caches.reduce(0) { $0 + 2 * $1.heads * min($1.count + 1, $1.capacity) * $1.headDim * $1.precision.bytesPerValue }
    }

    var cacheStorageBytes: Int { caches.reduce(0) { $0 + $1.storageBytes } }

    func reset() { for cache in caches { cache.reset() } }
}
