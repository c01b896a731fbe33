import Numerics

/// The depth transformer: within one temporal step, `dep_q` positions, one per generated
/// codebook. Position k reads `depformer_in[k](temporal output)` plus the embedding of the
/// token chosen at position k-1 (the text token at k = 0), runs every layer with weight set k
/// (shared norms, causal attention over positions 0...k of this step, fresh state each step),
/// and its head `linears[k]` gives codebook k's logits. Allocation-free after `init`.
final class Depformer {
    private let config: LMConfig
    private let inputs: [Matvec]
    private let heads: [Matvec]
    private let embeddings: [WeightMatrix]
    private let layers: [(norm1: [Float], norm2: [Float], sets: [(inProjection: Matvec, outProjection: Matvec, linearIn: Matvec, linearOut: Matvec)])]
    private let caches: [KVCache]
    private let rope: RotaryEmbedding?
    private let x: FloatBuffer
    private let row: FloatBuffer
    private let normed: FloatBuffer
    private let qkv: FloatBuffer
    private let attended: FloatBuffer
    private let gated: FloatBuffer
    private let hidden: FloatBuffer
    private let cosines: FloatBuffer
    private let sines: FloatBuffer
    private let scale: Float

    init(weights: LMWeights, precision: MatvecPrecision, scratch: MatvecScratch) throws(MatvecError) {
        let c = weights.config
        let d = c.depformer
        config = c
        inputs = try weights.depformerInputs.map { m throws(MatvecError) in try Matvec(m, precision: precision, scratch: scratch) }
        heads = try weights.audioHeads.map { m throws(MatvecError) in try Matvec(m, precision: precision, scratch: scratch) }
        embeddings = weights.depformerEmbeddings
        var layers: [([Float], [Float], [(Matvec, Matvec, Matvec, Matvec)])] = []
        for layer in weights.depformerLayers {
            var sets: [(Matvec, Matvec, Matvec, Matvec)] = []
            for s in layer.sets {
                sets.append((try Matvec(s.inProjection, precision: precision, scratch: scratch),
                             try Matvec(s.outProjection, precision: precision, scratch: scratch),
                             try Matvec(s.linearIn, precision: precision, scratch: scratch),
                             try Matvec(s.linearOut, precision: precision, scratch: scratch)))
            }
            layers.append((layer.norm1, layer.norm2, sets))
        }
        self.layers = layers
        caches = (0..<d.layers).map { _ in KVCache(heads: d.heads, headDim: d.headDim, capacity: max(c.generatedCodebooks, 1)) }
        rope = d.positionalEncoding == .rope ? RotaryEmbedding(headDim: d.headDim, maxPeriod: Float(d.maxPeriod)) : nil
        x = FloatBuffer(count: d.dim)
        row = FloatBuffer(count: d.dim)
        normed = FloatBuffer(count: d.dim)
        qkv = FloatBuffer(count: 3 * d.dim)
        attended = FloatBuffer(count: d.dim)
        gated = FloatBuffer(count: 2 * d.gatedHidden)
        hidden = FloatBuffer(count: d.gatedHidden)
        cosines = FloatBuffer(count: max(d.headDim / 2, 1))
        sines = FloatBuffer(count: max(d.headDim / 2, 1))
        scale = 1 / Float(d.headDim).squareRoot()
    }

    /// Runs position `k` of this step: `temporalOut` (`[dim]`) and the previous token
    /// (the text token at k = 0, else the audio token of position k-1) give codebook k's logits
    /// (`[card]`). Position 0 starts the step afresh.
    func step(position k: Int, temporalOut: UnsafePointer<Float>, previousToken: Int, into logits: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        let c = config
        let d = c.depformer
        let dd = d.dim
        if k == 0 { for cache in caches { cache.reset() } }
        inputs[c.depformerInputProjection(position: k)].run(temporalOut, into: x.pointer, pool: pool)
        let table = embeddings[k]
        if previousToken >= 0 && previousToken < table.rows {
            table.dequantizeRows(previousToken ..< previousToken + 1, into: row.pointer)
            addInPlace(row.pointer, to: x.pointer, count: dd)
        }
        if let rope { rope.rotation(position: k, cos: cosines.pointer, sin: sines.pointer) }
        let set = c.depformerWeightSet(position: k)
        for (index, layer) in layers.enumerated() {
            let weights = layer.sets[set]
            layer.norm1.withUnsafeBufferPointer { rmsNorm(x.pointer, alpha: $0.baseAddress!, eps: c.normEpsilon, rows: 1, channels: dd, into: normed.pointer) }
            weights.inProjection.run(normed.pointer, into: qkv.pointer, pool: pool)
            if let rope {
                rope.rotate(qkv.pointer, heads: d.heads, cos: cosines.pointer, sin: sines.pointer)
                rope.rotate(qkv.pointer + dd, heads: d.heads, cos: cosines.pointer, sin: sines.pointer)
            }
            caches[index].append(key: qkv.pointer + dd, value: qkv.pointer + 2 * dd)
            caches[index].attend(qkv.pointer, scale: scale, into: attended.pointer, pool: pool)
            weights.outProjection.run(attended.pointer, into: x.pointer, pool: pool, accumulate: true)

            layer.norm2.withUnsafeBufferPointer { rmsNorm(x.pointer, alpha: $0.baseAddress!, eps: c.normEpsilon, rows: 1, channels: dd, into: normed.pointer) }
            weights.linearIn.run(normed.pointer, into: gated.pointer, pool: pool)
            d.gating.gate(gated.pointer, hidden: d.gatedHidden, into: hidden.pointer)
            weights.linearOut.run(hidden.pointer, into: x.pointer, pool: pool, accumulate: true)
        }
        heads[k].run(x.pointer, into: logits, pool: pool)
    }

    /// The input of the last position run (after the embedding was added) is not kept; this is
    /// its output before the head, for tests.
    var lastOutput: UnsafePointer<Float> { UnsafePointer(x.pointer) }
}
