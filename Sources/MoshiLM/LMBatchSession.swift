import MoshiNumerics

/// What one conversation in an `LMBatch` owns: its temporal KV caches (its position is
/// theirs), its depformer caches, its token bookkeeping and sampling (`LMStreamState`), and the
/// depformer logits of its last step. Made once per batch slot, reused by every session that
/// takes the slot.
final class LMBatchSession {
    let temporalCaches: [KVCache]
    let depformerCaches: [KVCache]
    let streams: LMStreamState
    let audioLogits: FloatBuffer    // [dep_q, card]
    var active = false
    /// Submitted for the next step.
    var ready = false
    /// Whether the last step returned a frame.
    var produced = false
    /// Its row in the last step (-1: not in it).
    var row = -1

    init(config c: LMConfig, cachePrecision: KVCachePrecision, context: Int) {
        temporalCaches = (0..<c.layers).map { _ in KVCache(heads: c.heads, headDim: c.headDim, capacity: max(context, 1), precision: cachePrecision) }
        let d = c.depformer
        depformerCaches = (0..<d.layers).map { _ in KVCache(heads: d.heads, headDim: d.headDim, capacity: max(c.generatedCodebooks, 1)) }
        streams = LMStreamState(config: c)
        audioLogits = FloatBuffer(count: c.generatedCodebooks * c.audioCard)
    }

    var position: Int { temporalCaches.first?.count ?? 0 }

    func restart(sampling: LMSampling, seed: UInt64) {
        for cache in temporalCaches { cache.reset() }
        streams.restart(sampling: sampling, seed: seed)
        ready = false
        produced = false
        row = -1
    }
}
