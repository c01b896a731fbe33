import MoshiNumerics

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
    /// `[layer][weight set]`.
    private let layers: [[TransformerLayer]]
    private let caches: [KVCache]
    private let stepper: TransformerLayerStepper
    private let rope: RotaryEmbedding?
    private let x: FloatBuffer
    private let row: FloatBuffer
    private let cosines: FloatBuffer
    private let sines: FloatBuffer

    init(weights: LMWeights, precision: MatvecPrecision, scratch: MatvecScratch) throws(MatvecError) {
        let c = weights.config
        let d = c.depformer
        config = c
        inputs = try weights.depformerInputs.map { m throws(MatvecError) in try Matvec(m, precision: precision, scratch: scratch) }
        heads = try weights.audioHeads.map { m throws(MatvecError) in try Matvec(m, precision: precision, scratch: scratch) }
        embeddings = weights.depformerEmbeddings
        layers = try TransformerLayer.depformer(weights, precision: precision, scratch: scratch)
        caches = (0..<d.layers).map { _ in KVCache(heads: d.heads, headDim: d.headDim, capacity: max(c.generatedCodebooks, 1)) }
        stepper = TransformerLayerStepper(depformer: c, rows: 1)
        rope = d.positionalEncoding == .rope ? RotaryEmbedding(headDim: d.headDim, maxPeriod: Float(d.maxPeriod)) : nil
        x = FloatBuffer(count: d.dim)
        row = FloatBuffer(count: d.dim)
        cosines = FloatBuffer(count: max(d.headDim / 2, 1))
        sines = FloatBuffer(count: max(d.headDim / 2, 1))
    }

    /// Runs position `k` of this step: `temporalOut` (`[dim]`) and the previous token
    /// (the text token at k = 0, else the audio token of position k-1) give codebook k's logits
    /// (`[card]`). Position 0 starts the step afresh.
    func step(position k: Int, temporalOut: UnsafePointer<Float>, previousToken: Int, into logits: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        let c = config
        if k == 0 { for cache in caches { cache.reset() } }
        inputs[c.depformerInputProjection(position: k)].run(temporalOut, into: x.pointer, pool: pool)
        let table = embeddings[k]
        if previousToken >= 0 && previousToken < table.rows {
            table.dequantizeRows(previousToken ..< previousToken + 1, into: row.pointer)
            addInPlace(row.pointer, to: x.pointer, count: c.depformer.dim)
        }
        rope?.rotation(position: k, cos: cosines.pointer, sin: sines.pointer)
        let set = c.depformerWeightSet(position: k)
        for (index, layer) in layers.enumerated() {
            stepper.run(layer[set], x.pointer, sequences: 1, steps: 1, cache: { _ in caches[index] }, rope: rope,
                        cosines: cosines.pointer, sines: sines.pointer, pool: pool)
        }
        heads[k].run(x.pointer, into: logits, pool: pool)
    }

    /// The output of the last position run, before its head (`[depformer dim]`), for tests.
    var lastOutput: UnsafePointer<Float> { UnsafePointer(x.pointer) }
}
