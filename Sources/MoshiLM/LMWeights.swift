import MoshiNumerics
import Weights

/// One temporal transformer layer: pre-norm attention and gated feed-forward.
struct TemporalLayerWeights {
    let norm1: [Float]
    let inProjection: WeightMatrix     // [3 dim, dim]: queries, keys, values
    let outProjection: WeightMatrix    // [dim, dim]
    let norm2: [Float]
    let linearIn: WeightMatrix         // [2 hidden, dim]
    let linearOut: WeightMatrix        // [dim, hidden]
}

/// One depformer weight set of one layer (the reference's `weights_per_step`: position k uses set k).
struct DepformerSetWeights {
    let inProjection: WeightMatrix
    let outProjection: WeightMatrix
    let linearIn: WeightMatrix
    let linearOut: WeightMatrix
}

/// One depformer layer: norms shared by every position, one weight set per position.
struct DepformerLayerWeights {
    let norm1: [Float]
    let norm2: [Float]
    let sets: [DepformerSetWeights]
}

/// Every weight of a Moshi language model, viewed in place in its checkpoint (nothing is
/// copied but the norm scales): whatever the layout (`LMCheckpointLayout`) and the number
/// format of each matrix (f32, bf16, f16, GGUF Q8_0/Q4_0, MLX 4/8-bit), with every shape checked
/// against the configuration. Keep it alive as long as a model uses it (it holds the store).
package final class LMWeights: @unchecked Sendable {
    package let config: LMConfig
    package let layout: LMCheckpointLayout
    package let store: any WeightStore

    let textEmbedding: WeightMatrix            // [textCard + 1, dim]
    let audioEmbeddings: [WeightMatrix]        // n_q x [card + 1, dim]
    let temporalLayers: [TemporalLayerWeights]
    let outNorm: [Float]
    let textHead: WeightMatrix                 // [textCardOut, dim]
    let depformerInputs: [WeightMatrix]        // [depformer dim, dim]
    let depformerEmbeddings: [WeightMatrix]    // dep_q tables: text, then audio 0..<dep_q-1
    let depformerLayers: [DepformerLayerWeights]
    let audioHeads: [WeightMatrix]             // dep_q x [card, depformer dim]

    /// Loads and checks every tensor the configuration calls for; the error names the tensor.
    package init(store: any WeightStore, config: LMConfig) throws(WeightFileError) {
        do { try config.validate() } catch {
            throw WeightFileError(.mismatch, file: store.sourceDescription, tensor: "", "invalid LM configuration: \(error.description)")
        }
        self.config = config
        self.store = store
        let layout = try LMCheckpointLayout.detect(in: store)
        self.layout = layout
        let c = config
        let dim = c.dim, dd = c.depformer.dim, q = c.generatedCodebooks

        func matrix(_ name: String, _ rows: Int, _ cols: Int) throws(WeightFileError) -> WeightMatrix {
            let m = try store.matrix(name, rows: rows, cols: cols)
            do { try m.validate() } catch {
                throw WeightFileError(.mismatch, file: store.sourceDescription, tensor: name, error.description)
            }
            return m
        }
        /// The first of `names` that is present (alternative spellings of one weight).
        func matrix(anyOf names: [String], _ rows: Int, _ cols: Int) throws(WeightFileError) -> WeightMatrix {
            for name in names.dropLast() where store.contains(name) { return try matrix(name, rows, cols) }
            return try matrix(names[names.count - 1], rows, cols)
        }
        func norm(_ name: String, _ width: Int) throws(WeightFileError) -> [Float] {
            let tensor = try store.require(name)
            guard tensor.elementCount == width, tensor.shape.allSatisfy({ $0 == 1 || $0 == width }) else {
                throw WeightFileError(.mismatch, file: store.sourceDescription, tensor: name,
                    "expected \(width) norm scales ([1, 1, \(width)] or [\(width)]), found shape \(tensor.shape)")
            }
            return try tensor.floats()
        }

        textEmbedding = try matrix("text_emb.weight", c.textCard + 1, dim)
        var audio: [WeightMatrix] = []
        for i in 0..<c.inputCodebooks { audio.append(try matrix(layout.audioEmbedding(i), c.audioCard + 1, dim)) }
        audioEmbeddings = audio

        var temporal: [TemporalLayerWeights] = []
        for l in 0..<c.layers {
            let p = "transformer.layers.\(l)"
            let hidden = c.gatedHidden
            temporal.append(TemporalLayerWeights(
                norm1: try norm(layout.norm(p, 1), dim),
                inProjection: try matrix(anyOf: [layout.inProjection(p), "\(p).self_attn.in_projs.0.weight"], 3 * dim, dim),
                outProjection: try matrix(anyOf: ["\(p).self_attn.out_proj.weight", "\(p).self_attn.out_projs.0.weight"], dim, dim),
                norm2: try norm(layout.norm(p, 2), dim),
                linearIn: try matrix("\(p).gating.linear_in.weight", 2 * hidden, dim),
                linearOut: try matrix("\(p).gating.linear_out.weight", dim, hidden)))
        }
        temporalLayers = temporal
        outNorm = try norm(layout.outNorm, dim)
        textHead = try matrix("text_linear.weight", c.textCardOut, dim)

        if layout != .pytorch {
            guard c.depformerWeightSets == q, c.depformerInputProjections == q, c.depformer.schedule == nil else {
                throw WeightFileError(.mismatch, file: store.sourceDescription, tensor: layout.depformerInput(0),
                    "the \(layout) layout holds one depformer slice per codebook, which needs depformer_multi_linear and depformer_weights_per_step without a schedule")
            }
        }
        var inputs: [WeightMatrix] = []
        for k in 0..<c.depformerInputProjections { inputs.append(try matrix(layout.depformerInput(k), dd, dim)) }
        depformerInputs = inputs
        var embeddings: [WeightMatrix] = [try matrix(layout.depformerEmbedding(0), c.textCard + 1, dd)]
        for k in 1..<max(q, 1) { embeddings.append(try matrix(layout.depformerEmbedding(k), c.audioCard + 1, dd)) }
        depformerEmbeddings = embeddings
        var heads: [WeightMatrix] = []
        for k in 0..<q { heads.append(try matrix(layout.depformerHead(k), c.audioCard, dd)) }
        audioHeads = heads

        let sets = c.depformerWeightSets
        let dh = c.depformer.gatedHidden
        var layers: [DepformerLayerWeights] = []
        for j in 0..<c.depformer.layers {
            switch layout {
            case .pytorch:
                let p = "depformer.layers.\(j)"
                var perSet: [DepformerSetWeights] = []
                let stackedIn = try? matrix(layout.inProjection(p), sets * 3 * dd, dd)
                let stackedOut = try? matrix("\(p).self_attn.out_proj.weight", sets * dd, dd)
                for s in 0..<sets {
                    let gating = c.depformer.weightsPerStep ? "\(p).gating.\(s)" : "\(p).gating"
                    let inProjection: WeightMatrix
                    if let stackedIn { inProjection = stackedIn.rows(s * 3 * dd ..< (s + 1) * 3 * dd) } else {
                        inProjection = try matrix(anyOf: ["\(p).self_attn.in_projs.\(s).weight", layout.inProjection(p)], 3 * dd, dd)
                    }
                    let outProjection: WeightMatrix
                    if let stackedOut { outProjection = stackedOut.rows(s * dd ..< (s + 1) * dd) } else {
                        outProjection = try matrix(anyOf: ["\(p).self_attn.out_projs.\(s).weight", "\(p).self_attn.out_proj.weight"], dd, dd)
                    }
                    perSet.append(DepformerSetWeights(
                        inProjection: inProjection, outProjection: outProjection,
                        linearIn: try matrix("\(gating).linear_in.weight", 2 * dh, dd),
                        linearOut: try matrix("\(gating).linear_out.weight", dd, dh)))
                }
                layers.append(DepformerLayerWeights(norm1: try norm(layout.norm(p, 1), dd), norm2: try norm(layout.norm(p, 2), dd), sets: perSet))
            case .candle, .mlx:
                var perSet: [DepformerSetWeights] = []
                for k in 0..<q {
                    let p = "\(layout.slice(k)).transformer.layers.\(j)"
                    perSet.append(DepformerSetWeights(
                        inProjection: try matrix(layout.inProjection(p), 3 * dd, dd),
                        outProjection: try matrix("\(p).self_attn.out_proj.weight", dd, dd),
                        linearIn: try matrix("\(p).gating.linear_in.weight", 2 * dh, dd),
                        linearOut: try matrix("\(p).gating.linear_out.weight", dd, dh)))
                }
                let p0 = "\(layout.slice(0)).transformer.layers.\(j)"
                layers.append(DepformerLayerWeights(norm1: try norm(layout.norm(p0, 1), dd), norm2: try norm(layout.norm(p0, 2), dd), sets: perSet))
            }
        }
        depformerLayers = layers
    }

    /// The matrices one step multiplies (embeddings excluded: a step reads one row of each).
    var stepMatrices: [WeightMatrix] {
        var all: [WeightMatrix] = []
        for l in temporalLayers { all += [l.inProjection, l.outProjection, l.linearIn, l.linearOut] }
        all.append(textHead)
        for k in 0..<config.generatedCodebooks {
            all.append(depformerInputs[config.depformerInputProjection(position: k)])
            all.append(audioHeads[k])
            for layer in depformerLayers {
                let s = layer.sets[config.depformerWeightSet(position: k)]
                all += [s.inProjection, s.outProjection, s.linearIn, s.linearOut]
            }
        }
        return all
    }

    /// Bytes of weights one generator step reads: every matrix it multiplies once (a shared
    /// depformer projection once per position), plus one row of each embedding table.
    package var bytesReadPerStep: Int {
        var total = stepMatrices.reduce(0) { $0 + $1.storageBytes }
        let tables = [textEmbedding] + audioEmbeddings + depformerEmbeddings
        total += tables.reduce(0) { $0 + $1.storageBytes / max($1.rows, 1) }
        return total
    }

    /// Bytes of every weight of the model in its stored format (what the mapping keeps resident).
    package var storedBytes: Int {
        var seen = Set<UnsafeRawPointer>()
        var total = 0
        var all = [textEmbedding, textHead] + audioEmbeddings + depformerInputs + depformerEmbeddings + audioHeads
        for l in temporalLayers { all += [l.inProjection, l.outProjection, l.linearIn, l.linearOut] }
        for l in depformerLayers { for s in l.sets { all += [s.inProjection, s.outProjection, s.linearIn, s.linearOut] } }
        for m in all where seen.insert(m.data).inserted { total += m.storageBytes }
        return total
    }

    /// The number formats of the matrices, e.g. "bf16" or "mlx_q4_g32 + bf16".
    /// The format of most of a step's bytes (the temporal layers' feed-forward input).
    package var mainFormat: WeightFormat { temporalLayers.first?.linearIn.format ?? textHead.format }

    package var formatSummary: String {
        var counts: [String: Int] = [:]
        for m in stepMatrices + [textEmbedding] { counts[m.format.description, default: 0] += 1 }
        return counts.sorted { $0.value > $1.value }.map(\.key).joined(separator: " + ")
    }
}
