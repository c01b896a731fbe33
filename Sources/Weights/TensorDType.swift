/// How the elements of a stored tensor are encoded. The dense types are those of safetensors
/// (`U32` is there for MLX's packed quantized weights); `q8_0` and `q4_0` are GGUF block formats.
package enum TensorDType: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case f32, f16, bf16, i8, u8, i32, i64, u32
    /// GGUF Q8_0: blocks of 32 values, an f16 scale then 32 int8 (34 bytes a block).
    case q8_0
    /// GGUF Q4_0: blocks of 32 values, an f16 scale then 16 bytes of nibbles (18 bytes a block).
    case q4_0

    /// The dtypes a safetensors header may name, by their header spelling.
    package static let safetensorsNames: [String: TensorDType] = [
        "F32": .f32, "F16": .f16, "BF16": .bf16, "I8": .i8, "U8": .u8, "I32": .i32, "I64": .i64, "U32": .u32,
    ]

    /// The spelling used by the file formats: `F32`, `BF16`, `Q8_0`, ...
    package var description: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .bf16: "BF16"
        case .i8: "I8"
        case .u8: "U8"
        case .i32: "I32"
        case .i64: "I64"
        case .u32: "U32"
        case .q8_0: "Q8_0"
        case .q4_0: "Q4_0"
        }
    }

    /// Elements per storage block: 1 for dense types, 32 for the GGUF block formats.
    package var blockLength: Int {
        switch self {
        case .q8_0, .q4_0: 32
        default: 1
        }
    }

    /// Bytes per storage block (per element for dense types).
    package var blockBytes: Int {
        switch self {
        case .i8, .u8: 1
        case .f16, .bf16: 2
        case .f32, .i32, .u32: 4
        case .i64: 8
        case .q8_0: 34
        case .q4_0: 18
        }
    }

    package var isQuantized: Bool { blockLength > 1 }

    /// f32, f16 and bf16: what `WeightMatrix` and `floats()` take without dequantizing.
    package var isFloat: Bool { self == .f32 || self == .f16 || self == .bf16 }

    /// The bytes `count` elements take, or nil if that overflows `Int` or `count` is not
    /// a whole number of blocks.
    package func byteCount(elements count: Int) -> Int? {
        guard count >= 0, count % blockLength == 0 else { return nil }
        let (bytes, overflow) = (count / blockLength).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }
}

/// The element count of a shape, or nil if a dimension is negative or the product of the
/// non-zero dimensions overflows `Int`. Refusing the latter even when a zero makes the count 0
/// (`[0, 2^40, 2^40]`) means every partial product of the shape, in any order, fits: code that
/// multiplies some of the dims (rows, columns) can never overflow.
func elementCount(of shape: [Int]) -> Int? {
    var nonZeroProduct = 1
    var hasZero = false
    for dimension in shape {
        guard dimension >= 0 else { return nil }
        if dimension == 0 {
            hasZero = true
            continue
        }
        let (product, overflow) = nonZeroProduct.multipliedReportingOverflow(by: dimension)
        if overflow { return nil }
        nonZeroProduct = product
    }
    return hasZero ? 0 : nonZeroProduct
}

/// `[64, 1, 7]`: how shapes are written in messages and by `moshi inspect`.
func describe(shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
