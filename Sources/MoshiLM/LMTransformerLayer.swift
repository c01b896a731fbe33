import MoshiNumerics

extension TransformerLayer {
    /// One layer of the LM's temporal transformer or depformer: RMSNorm, attention with a fused
    /// QKV projection, a gated feed-forward, no biases, no layer scale; every product a `Matvec`
    /// on the checkpoint's own format.
    init(norm1: [Float], norm2: [Float], epsilon: Float, gating: LMConfig.Activation,
         inProjection: WeightMatrix, outProjection: WeightMatrix, linearIn: WeightMatrix, linearOut: WeightMatrix,
         precision: MatvecPrecision, scratch: MatvecScratch) throws(MatvecError) {
        self.init(norm1: .rms(alpha: norm1, epsilon: epsilon), norm2: .rms(alpha: norm2, epsilon: epsilon),
                  inProjection: .matvec(try Matvec(inProjection, precision: precision, scratch: scratch)),
                  outProjection: .matvec(try Matvec(outProjection, precision: precision, scratch: scratch)),
                  feedForward: .gated(gating),
                  linearIn: .matvec(try Matvec(linearIn, precision: precision, scratch: scratch)),
                  linearOut: .matvec(try Matvec(linearOut, precision: precision, scratch: scratch)))
    }

    /// The temporal transformer's layers.
    static func temporal(_ weights: LMWeights, precision: MatvecPrecision, scratch: MatvecScratch) throws(MatvecError) -> [TransformerLayer] {
        let c = weights.config
        var layers: [TransformerLayer] = []
        for l in weights.temporalLayers {
            layers.append(try TransformerLayer(norm1: l.norm1, norm2: l.norm2, epsilon: c.normEpsilon, gating: c.gating,
                                               inProjection: l.inProjection, outProjection: l.outProjection,
                                               linearIn: l.linearIn, linearOut: l.linearOut, precision: precision, scratch: scratch))
        }
        return layers
    }

    /// The depformer's layers: `[layer][weight set]`, the norms shared by a layer's sets.
    static func depformer(_ weights: LMWeights, precision: MatvecPrecision, scratch: MatvecScratch) throws(MatvecError) -> [[TransformerLayer]] {
        let c = weights.config
        var layers: [[TransformerLayer]] = []
        for layer in weights.depformerLayers {
            var sets: [TransformerLayer] = []
            for s in layer.sets {
                sets.append(try TransformerLayer(norm1: layer.norm1, norm2: layer.norm2, epsilon: c.normEpsilon, gating: c.depformer.gating,
                                                 inProjection: s.inProjection, outProjection: s.outProjection,
                                                 linearIn: s.linearIn, linearOut: s.linearOut, precision: precision, scratch: scratch))
            }
            layers.append(sets)
        }
        return layers
    }
}

extension TransformerLayerStepper {
    /// A stepper for the temporal transformer's layers, `rows` sessions at a time.
    convenience init(temporal c: LMConfig, rows: Int) {
        self.init(dim: c.dim, heads: c.heads, hidden: c.gatedHidden, gated: true, rows: rows)
    }

    /// A stepper for the depformer's layers, `rows` sessions at a time.
    convenience init(depformer c: LMConfig, rows: Int) {
        self.init(dim: c.depformer.dim, heads: c.depformer.heads, hidden: c.depformer.gatedHidden, gated: true, rows: rows)
    }
}
