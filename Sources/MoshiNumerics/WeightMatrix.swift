import CKernels

/// How the elements of a weight matrix are stored. Activations are always f32.
package enum WeightFormat: Sendable, Hashable, CustomStringConvertible {
    case f32
    case bf16
    case f16
    /// GGUF Q8_0: blocks of 32 int8 values, each block led by an f16 scale (34 bytes a block).
    case q8_0
    /// GGUF Q4_0: blocks of 32 4-bit values, an f16 scale then 16 bytes (18 bytes a block);
    /// element j < 16 is the low nibble of byte j, element j >= 16 the high nibble of byte j - 16;
    /// value = (nibble - 8) * scale.
    case q4_0
    /// MLX affine quantization (`mx.quantize`): `bits` (4 or 8) packed little-end-first into
    /// u32 words along each row; every `groupSize` (32 or 64) elements of a row share a scale
    /// and a bias, stored in `scaleType`; value = scale * q + bias.
    case mlxAffine(bits: Int, groupSize: Int, scaleType: ScaleType)

    /// The storage type of MLX scales and biases (the dtype of the model they were made from).
    package enum ScaleType: Sendable, Hashable { case f32, f16, bf16 }

    package var description: String {
        switch self {
        case .f32: "f32"
        case .bf16: "bf16"
        case .f16: "f16"
        case .q8_0: "q8_0"
        case .q4_0: "q4_0"
        case .mlxAffine(let bits, let group, _): "mlx_q\(bits)_g\(group)"
        }
    }
}

/// A read-only row-major matrix of weights in any `WeightFormat`, viewing memory owned
/// elsewhere (usually a memory-mapped weight file, which must outlive the view).
/// Shape: `[rows, cols]`; a matrix-vector product maps `cols` inputs to `rows` outputs,
/// as PyTorch's `Linear.weight` of shape `[out_features, in_features]` does.
package struct WeightMatrix: @unchecked Sendable {
    package let rows: Int
    package let cols: Int
    package let format: WeightFormat
    /// The element data; for MLX, the packed u32 words (`[rows, cols * bits / 32]`).
    package let data: UnsafeRawPointer
    /// MLX only: `[rows, cols / groupSize]` scales and biases in `scaleType`.
    package let scales: UnsafeRawPointer?
    package let biases: UnsafeRawPointer?

    package init(rows: Int, cols: Int, format: WeightFormat, data: UnsafeRawPointer,
                scales: UnsafeRawPointer? = nil, biases: UnsafeRawPointer? = nil) {
        self.rows = rows
        self.cols = cols
        self.format = format
        self.data = data
        self.scales = scales
        self.biases = biases
    }
}

extension WeightMatrix {
    /// The C kernels' view of this matrix (CKernels `mk_matrix`).
    package var kernelMatrix: mk_matrix {
        var m = mk_matrix()
        m.data = data
        m.scales = scales
        m.biases = biases
        m.rows = Int64(rows)
        m.cols = Int64(cols)
        switch format {
        case .f32: m.format = Int32(MK_FORMAT_F32)
        case .bf16: m.format = Int32(MK_FORMAT_BF16)
        case .f16: m.format = Int32(MK_FORMAT_F16)
        case .q8_0: m.format = Int32(MK_FORMAT_Q8_0)
        case .q4_0: m.format = Int32(MK_FORMAT_Q4_0)
        case .mlxAffine(let bits, let group, let scaleType):
            m.format = bits == 4 ? Int32(MK_FORMAT_MLX4) : bits == 8 ? Int32(MK_FORMAT_MLX8) : -1
            m.group_size = Int32(clamping: group)
            switch scaleType {
            case .f32: m.scale_type = Int32(MK_SCALE_F32)
            case .f16: m.scale_type = Int32(MK_SCALE_F16)
            case .bf16: m.scale_type = Int32(MK_SCALE_BF16)
            }
        }
        return m
    }

    /// Bytes of element data one product reads (MLX: the packed words only).
    package var dataBytes: Int {
        switch format {
        case .f32: return rows * cols * 4
        case .bf16, .f16: return rows * cols * 2
        case .q8_0: return rows * (cols / 32) * 34
        case .q4_0: return rows * (cols / 32) * 18
        case .mlxAffine(let bits, _, _): return rows * cols * bits / 8
        }
    }

    /// Bytes one product reads in all: the element data plus MLX scales and biases.
    package var storageBytes: Int {
        guard case .mlxAffine(_, let group, let scaleType) = format, group > 0 else { return dataBytes }
        return dataBytes + 2 * rows * (cols / group) * (scaleType == .f32 ? 4 : 2)
    }

    /// Throws unless the kernels can run this matrix: a known format, non-negative sizes,
    /// columns in whole blocks (GGUF: 32) or groups (MLX: 32, 64 or 128), MLX bits 4 or 8
    /// with scales and biases.
    package func validate() throws(MatvecError) {
        var m = kernelMatrix
        switch mk_matrix_check(&m) {
        case 0: return
        case -1: throw MatvecError(description: "weight format \(format) has no kernel (MLX needs 4 or 8 bits)")
        case -3: throw MatvecError(description: "\(format): unsupported MLX group size or scale type, or scales/biases missing")
        default: throw MatvecError(description: "a [\(rows), \(cols)] \(format) matrix needs non-negative sizes and columns in whole blocks/groups")
        }
    }

    /// The whole matrix dequantized to f32, row-major (tests and tools; not for the hot path).
    /// These are the values every exact product multiplies by.
    package func dequantized() throws(MatvecError) -> [Float] {
        try validate()
        var m = kernelMatrix
        return [Float](unsafeUninitializedCapacity: rows * cols) { buffer, count in
            mk_dequantize_rows(&m, 0, Int64(rows), buffer.baseAddress)
            count = rows * cols
        }
    }

    /// Rows `range` dequantized to f32 into `out` (`range.count * cols` floats). The matrix must
    /// have passed `validate()`.
    package func dequantizeRows(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "dequantizeRows: \(range) outside 0..<\(rows)")
        var m = kernelMatrix
        mk_dequantize_rows(&m, Int64(range.lowerBound), Int64(range.upperBound), out)
    }
}

extension WeightMatrix {
    /// Bytes of one stored row of element data (MLX: packed words).
    package var rowBytes: Int {
        switch format {
        case .f32: return cols * 4
        case .bf16, .f16: return cols * 2
        case .q8_0: return (cols / 32) * 34
        case .q4_0: return (cols / 32) * 18
        case .mlxAffine(let bits, _, _): return cols * bits / 8
        }
    }

    /// Rows `range` as a matrix of their own, viewing the same memory (a block of a stacked
    /// matrix, such as one step's projection in the reference's depformer checkpoints).
    package func rows(_ range: Range<Int>) -> WeightMatrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "WeightMatrix.rows: \(range) outside 0..<\(rows)")
        var scaleOffset = 0
        if case .mlxAffine(_, let group, let scaleType) = format, group > 0 {
            scaleOffset = range.lowerBound * (cols / group) * (scaleType == .f32 ? 4 : 2)
        }
        return WeightMatrix(rows: range.count, cols: cols, format: format, data: data + range.lowerBound * rowBytes,
                            scales: scales.map { $0 + scaleOffset }, biases: biases.map { $0 + scaleOffset })
    }
}

