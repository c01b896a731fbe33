import MoshiNumerics
import Weights

/// The stored number format of a language-model checkpoint, as published by Kyutai.
package enum LMWeightFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// PyTorch layout, f32 (the parity fixtures).
    case f32
    /// PyTorch layout, bf16 (`kyutai/moshiko-pytorch-bf16`, `model.safetensors`).
    case bf16
    /// candle layout, GGUF Q8_0 with f32 norms (`model.q8.gguf`).
    case q8_0
    /// MLX layout, 8-bit affine in groups of 64, bf16 scales (`model.q8.safetensors`).
    case mlx_q8
    /// MLX layout, 4-bit affine in groups of 32, bf16 scales (`model.q4.safetensors`).
    case mlx_q4

    package var description: String { rawValue }

    var layout: LMCheckpointLayout {
        switch self {
        case .f32, .bf16: .pytorch
        case .q8_0: .candle
        case .mlx_q8, .mlx_q4: .mlx
        }
    }

    var mlx: MLXQuantization? {
        switch self {
        case .mlx_q8: MLXQuantization(bits: 8, groupSize: 64)
        case .mlx_q4: MLXQuantization(bits: 4, groupSize: 32)
        default: nil
        }
    }
}

/// A language-model checkpoint of random weights with the official names, shapes and stored
/// format of `format` (PyTorch, candle GGUF or MLX layout), built in memory: for `moshi bench lm`
/// and the synthetic model, where timings are real but the weights mean nothing. Matrices are
/// uniform in ±sqrt(3 / fan-in), embeddings scaled for a sum of n_q + 1 rows, norms 1, so
/// activations stay in range; quantized formats get random codes with matching scales.
package enum LMRandomCheckpoint {
    enum Role { case matrix(fanIn: Int), embedding, norm }

    struct Entry {
        let name: String
        let rows: Int
        let cols: Int
        let role: Role
    }

    /// The tensors of a checkpoint for `config` in `layout` (logical shapes).
    static func entries(config c: LMConfig, layout: LMCheckpointLayout) -> [Entry] {
        let d = c.dim, dd = c.depformer.dim, q = c.generatedCodebooks
        var out: [Entry] = []
        out.append(Entry(name: "text_emb.weight", rows: c.textCard + 1, cols: d, role: .embedding))
        for i in 0..<c.inputCodebooks { out.append(Entry(name: layout.audioEmbedding(i), rows: c.audioCard + 1, cols: d, role: .embedding)) }
        for l in 0..<c.layers {
            let p = "transformer.layers.\(l)"
            out.append(Entry(name: layout.norm(p, 1), rows: 1, cols: d, role: .norm))
            out.append(Entry(name: layout.inProjection(p), rows: 3 * d, cols: d, role: .matrix(fanIn: d)))
            out.append(Entry(name: "\(p).self_attn.out_proj.weight", rows: d, cols: d, role: .matrix(fanIn: d)))
            out.append(Entry(name: layout.norm(p, 2), rows: 1, cols: d, role: .norm))
            out.append(Entry(name: "\(p).gating.linear_in.weight", rows: 2 * c.gatedHidden, cols: d, role: .matrix(fanIn: d)))
            out.append(Entry(name: "\(p).gating.linear_out.weight", rows: d, cols: c.gatedHidden, role: .matrix(fanIn: c.gatedHidden)))
        }
        out.append(Entry(name: layout.outNorm, rows: 1, cols: d, role: .norm))
        out.append(Entry(name: "text_linear.weight", rows: c.textCardOut, cols: d, role: .matrix(fanIn: d)))
        for k in 0..<c.depformerInputProjections { out.append(Entry(name: layout.depformerInput(k), rows: dd, cols: d, role: .matrix(fanIn: d))) }
        for k in 0..<q {
            out.append(Entry(name: layout.depformerEmbedding(k), rows: (k == 0 ? c.textCard : c.audioCard) + 1, cols: dd, role: .embedding))
            out.append(Entry(name: layout.depformerHead(k), rows: c.audioCard, cols: dd, role: .matrix(fanIn: dd)))
        }
        let dh = c.depformer.gatedHidden
        for j in 0..<c.depformer.layers {
            switch layout {
            case .pytorch:
                let p = "depformer.layers.\(j)"
                let sets = c.depformerWeightSets
                out.append(Entry(name: layout.norm(p, 1), rows: 1, cols: dd, role: .norm))
                out.append(Entry(name: layout.norm(p, 2), rows: 1, cols: dd, role: .norm))
                out.append(Entry(name: layout.inProjection(p), rows: sets * 3 * dd, cols: dd, role: .matrix(fanIn: dd)))
                out.append(Entry(name: "\(p).self_attn.out_proj.weight", rows: sets * dd, cols: dd, role: .matrix(fanIn: dd)))
                for s in 0..<sets {
                    let g = c.depformer.weightsPerStep ? "\(p).gating.\(s)" : "\(p).gating"
                    out.append(Entry(name: "\(g).linear_in.weight", rows: 2 * dh, cols: dd, role: .matrix(fanIn: dd)))
                    out.append(Entry(name: "\(g).linear_out.weight", rows: dd, cols: dh, role: .matrix(fanIn: dh)))
                }
            case .candle, .mlx:
                for k in 0..<q {
                    let p = "\(layout.slice(k)).transformer.layers.\(j)"
                    out.append(Entry(name: layout.norm(p, 1), rows: 1, cols: dd, role: .norm))
                    out.append(Entry(name: layout.norm(p, 2), rows: 1, cols: dd, role: .norm))
                    out.append(Entry(name: layout.inProjection(p), rows: 3 * dd, cols: dd, role: .matrix(fanIn: dd)))
                    out.append(Entry(name: "\(p).self_attn.out_proj.weight", rows: dd, cols: dd, role: .matrix(fanIn: dd)))
                    out.append(Entry(name: "\(p).gating.linear_in.weight", rows: 2 * dh, cols: dd, role: .matrix(fanIn: dd)))
                    out.append(Entry(name: "\(p).gating.linear_out.weight", rows: dd, cols: dh, role: .matrix(fanIn: dh)))
                }
            }
        }
        return out
    }

    /// Random weights for `config` stored as `format`, deterministic in `seed`; filled on `pool`'s threads.
    package static func make(config: LMConfig, format: LMWeightFormat, seed: UInt64 = 0, pool: ThreadPool? = nil) throws(WeightFileError) -> SyntheticWeightStore {
        let layout = format.layout
        let entries = entries(config: config, layout: layout)
        var specs: [SyntheticWeightStore.Spec] = []
        var roles: [String: (Role, Int, Int)] = [:]
        for e in entries {
            let stored = storage(of: e, format: format, config: config)
            for (name, dtype, shape) in stored { specs.append(.init(name: name, dtype: dtype, shape: shape)) }
            for (name, _, _) in stored { roles[name] = (e.role, e.rows, e.cols) }
        }
        let embeddingBound = (3 / Float(config.inputCodebooks + 1)).squareRoot()
        let fill: (WeightTensor, UnsafeMutableRawBufferPointer) -> Void = { tensor, bytes in
            guard let (role, rows, cols) = roles[tensor.name] else { return }
            var bound: Float
            switch role {
            case .matrix(let fanIn): bound = (3 / Float(fanIn)).squareRoot()
            case .embedding: bound = embeddingBound
            case .norm: bound = 0
            }
            var rng = Xoshiro256StarStar(seed: seed ^ tensor.name.hashValueStable)
            let name = tensor.name
            if case .norm = role {
                fillFloats(bytes, dtype: tensor.dtype) { _ in 1 }
            } else if name.hasSuffix(".scales"), let mlx = format.mlx {
                let step = 2 * bound / Float((1 << mlx.bits) - 1)
                fillFloats(bytes, dtype: tensor.dtype) { _ in step }
            } else if name.hasSuffix(".biases") {
                fillFloats(bytes, dtype: tensor.dtype) { _ in -bound }
            } else if tensor.dtype == .u32 || tensor.dtype == .u8 {
                rng.fillBytes(bytes)
            } else if tensor.dtype == .q8_0 {
                rng.fillBytes(bytes)
                let scale = HalfPrecision.f16Bits(bound / 127)
                let blocks = rows * cols / 32
                for b in 0..<blocks {
                    bytes.storeBytes(of: scale.littleEndian, toByteOffset: b * 34, as: UInt16.self)
                    // -128 is not a Q8_0 value the reference quantizer makes.
                    for i in 0..<32 where bytes[b * 34 + 2 + i] == 0x80 { bytes[b * 34 + 2 + i] = 0x81 }
                }
            } else {
                fillFloats(bytes, dtype: tensor.dtype) { _ in (Float(rng.next() >> 40) * 0x1p-24 * 2 - 1) * bound }
            }
        }
        return try SyntheticWeightStore(
            specs: specs, name: "<random \(format) LM weights, seed \(seed)>", mlxQuantization: format.mlx,
            concurrently: pool.map { p in { count, body in p.parallelFor(count) { body($0) } } }, fill: fill)
    }

    /// How one logical tensor is stored in `format`: name, dtype, shape of each stored tensor.
    static func storage(of e: Entry, format: LMWeightFormat, config: LMConfig) -> [(String, TensorDType, [Int])] {
        let normShape = format.layout == .mlx ? [e.cols] : [1, 1, e.cols]
        switch format {
        case .f32:
            if case .norm = e.role { return [(e.name, .f32, normShape)] }
            return [(e.name, .f32, [e.rows, e.cols])]
        case .bf16:
            if case .norm = e.role { return [(e.name, .bf16, normShape)] }
            return [(e.name, .bf16, [e.rows, e.cols])]
        case .q8_0:
            if case .norm = e.role { return [(e.name, .f32, normShape)] }
            return [(e.name, e.cols % 32 == 0 ? .q8_0 : .f32, [e.rows, e.cols])]
        case .mlx_q8, .mlx_q4:
            if case .norm = e.role { return [(e.name, .bf16, normShape)] }
            let mlx = format.mlx!
            guard e.cols % mlx.groupSize == 0 else { return [(e.name, .bf16, [e.rows, e.cols])] }
            let prefix = String(e.name.dropLast(".weight".count))
            return [(e.name, .u32, [e.rows, e.cols * mlx.bits / 32]),
                    (prefix + ".scales", .bf16, [e.rows, e.cols / mlx.groupSize]),
                    (prefix + ".biases", .bf16, [e.rows, e.cols / mlx.groupSize])]
        }
    }

    private static func fillFloats(_ bytes: UnsafeMutableRawBufferPointer, dtype: TensorDType, _ value: (Int) -> Float) {
        switch dtype {
        case .f32:
            let n = bytes.count / 4
            for i in 0..<n { bytes.storeBytes(of: value(i).bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        case .bf16:
            let n = bytes.count / 2
            for i in 0..<n { bytes.storeBytes(of: HalfPrecision.bf16Bits(value(i)).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .f16:
            let n = bytes.count / 2
            for i in 0..<n { bytes.storeBytes(of: HalfPrecision.f16Bits(value(i)).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        default:
            break
        }
    }
}

extension Xoshiro256StarStar {
    /// Fills `bytes` with random bits, eight at a time.
    mutating func fillBytes(_ bytes: UnsafeMutableRawBufferPointer) {
        let words = bytes.count / 8
        for i in 0..<words { bytes.storeBytes(of: next(), toByteOffset: 8 * i, as: UInt64.self) }
        var tail = next()
        for i in (words * 8)..<bytes.count {
            bytes[i] = UInt8(truncatingIfNeeded: tail)
            tail >>= 8
        }
    }
}

extension String {
    /// FNV-1a of the UTF-8 bytes: a hash that is the same in every run (Swift's `hashValue` is seeded per process).
    var hashValueStable: UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }
}
