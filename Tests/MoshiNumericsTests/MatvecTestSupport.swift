import CKernels
@testable import MoshiNumerics

/// A weight matrix in some format together with the memory it views (kept alive by the value).
final class TestMatrix: @unchecked Sendable {
    let data: UnsafeMutableRawPointer
    let scales: UnsafeMutableRawPointer?
    let biases: UnsafeMutableRawPointer?
    let matrix: WeightMatrix

    /// Random weights. MLX biases are random (`centered: false`) or, as MLX's quantizer makes
    /// them, about -scale * (levels - 1) / 2, so scale * q and bias largely cancel (`centered: true`).
    init(rows: Int, cols: Int, format: WeightFormat, rng: inout SplitMix, centered: Bool = false) {
        let m = WeightMatrix(rows: rows, cols: cols, format: format, data: UnsafeRawPointer(bitPattern: 64)!)
        let bytes = m.dataBytes
        // Offset by one byte: safetensors data need not be aligned, so the kernels must not assume it.
        let base = UnsafeMutableRawPointer.allocate(byteCount: bytes + 1, alignment: 64)
        data = base + 1
        for i in 0..<bytes { data.storeBytes(of: UInt8(truncatingIfNeeded: rng.next()), toByteOffset: i, as: UInt8.self) }
        switch format {
        case .f32:
            for i in 0..<(rows * cols) { data.storeBytes(of: rng.float(), toByteOffset: 4 * i, as: Float.self) }
        case .bf16:
            for i in 0..<(rows * cols) { data.storeBytes(of: mk_f32_to_bf16(rng.float()), toByteOffset: 2 * i, as: UInt16.self) }
        case .f16:
            for i in 0..<(rows * cols) { data.storeBytes(of: mk_f32_to_f16(rng.float()), toByteOffset: 2 * i, as: UInt16.self) }
        case .q8_0, .q4_0:
            let blockBytes = format == .q8_0 ? 34 : 18
            for b in 0..<(rows * cols / 32) {
                data.storeBytes(of: mk_f32_to_f16(rng.float() * 0.1), toByteOffset: b * blockBytes, as: UInt16.self)
            }
        case .mlxAffine: break
        }
        if case .mlxAffine(_, let group, let scaleType) = format {
            let count = rows * cols / group
            let size = scaleType == .f32 ? 4 : 2
            let s = UnsafeMutableRawPointer.allocate(byteCount: count * size, alignment: 64)
            let b = UnsafeMutableRawPointer.allocate(byteCount: count * size, alignment: 64)
            let levels: Float = if case .mlxAffine(4, _, _) = format { 15 } else { 255 }
            for i in 0..<count {
                let scale = rng.float() * 0.05
                TestMatrix.store(scale, type: scaleType, at: s, index: i)
                TestMatrix.store(centered ? -abs(scale) * levels / 2 + rng.float() * 0.001 : rng.float() * 0.5,
                                 type: scaleType, at: b, index: i)
            }
            scales = s
            biases = b
        } else {
            scales = nil
            biases = nil
        }
        matrix = WeightMatrix(rows: rows, cols: cols, format: format, data: data, scales: scales, biases: biases)
    }

    static func store(_ value: Float, type: WeightFormat.ScaleType, at p: UnsafeMutableRawPointer, index: Int) {
        switch type {
        case .f32: p.storeBytes(of: value, toByteOffset: 4 * index, as: Float.self)
        case .f16: p.storeBytes(of: mk_f32_to_f16(value), toByteOffset: 2 * index, as: UInt16.self)
        case .bf16: p.storeBytes(of: mk_f32_to_bf16(value), toByteOffset: 2 * index, as: UInt16.self)
        }
    }

    deinit {
        (data - 1).deallocate()
        scales?.deallocate()
        biases?.deallocate()
    }
}

/// A tiny deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(Int64(bitPattern: next()) >> 40) / Float(1 << 23) }
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
}

/// Every format the kernels support, with the MLX variants that matter.
let allTestFormats: [WeightFormat] = [
    .f32, .bf16, .f16, .q8_0, .q4_0,
    .mlxAffine(bits: 4, groupSize: 32, scaleType: .bf16), .mlxAffine(bits: 4, groupSize: 64, scaleType: .f16),
    .mlxAffine(bits: 8, groupSize: 64, scaleType: .bf16), .mlxAffine(bits: 8, groupSize: 32, scaleType: .f32),
    .mlxAffine(bits: 4, groupSize: 128, scaleType: .f32),
]

func columnMultiple(_ format: WeightFormat) -> Int {
    switch format {
    case .f32, .bf16, .f16: return 1
    case .q8_0, .q4_0: return 32
    case .mlxAffine(_, let group, _): return group
    }
}
