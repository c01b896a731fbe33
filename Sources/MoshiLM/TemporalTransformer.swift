import MoshiNumerics

/// The temporal transformer stepped one token at a time: per layer, pre-norm multi-head
/// attention with RoPE at the absolute step over a ring KV cache of `context` steps, then a
/// gated feed-forward; `out_norm` at the end. Every buffer is allocated in `init`; `step`
/// allocates nothing, takes no lock and does no I/O.
final class TemporalTransformer {
    private let config: LMConfig
    private let layers: [TransformerLayer]
    let caches: [KVCache]
    private let stepper: TransformerLayerStepper
    private let rope: RotaryEmbedding?
    private let cosines: FloatBuffer
    private let sines: FloatBuffer

    init(weights: LMWeights, precision: MatvecPrecision, scratch: MatvecScratch, cachePrecision: KVCachePrecision) throws(MatvecError) {
        let c = weights.config
        config = c
        layers = try TransformerLayer.temporal(weights, precision: precision, scratch: scratch)
        caches = (0..<c.layers).map { _ in KVCache(heads: c.heads, headDim: c.headDim, capacity: c.context, precision: cachePrecision) }
        stepper = TransformerLayerStepper(temporal: c, rows: 1)
        rope = c.positionalEncoding == .rope ? RotaryEmbedding(headDim: c.headDim, maxPeriod: Float(c.maxPeriod)) : nil
        cosines = FloatBuffer(count: max(c.headDim / 2, 1))
        sines = FloatBuffer(count: max(c.headDim / 2, 1))
    }

    /// Absolute position of the next step.
    var position: Int { caches.first?.count ?? 0 }

    /// Runs one step: `x` (`[dim]`, the embedding sum) becomes the last layer's output, and
    /// `out` gets it after `out_norm`.
    func step(_ x: UnsafeMutablePointer<Float>, outNorm: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        rope?.rotation(position: position, cos: cosines.pointer, sin: sines.pointer)
        for (index, layer) in layers.enumerated() {
            stepper.run(layer, x, sequences: 1, steps: 1, cache: { _ in caches[index] }, rope: rope,
                        cosines: cosines.pointer, sines: sines.pointer, pool: pool)
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
