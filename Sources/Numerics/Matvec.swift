import CKernels

/// How quantized matrix-vector products treat the activations.
public enum MatvecPrecision: String, Sendable, CaseIterable {
    /// f32 arithmetic on exactly the dequantized weights (the reference's numbers).
    case exact
    /// Activations quantized to int8 per block of 32 (scale max|x|/127), then integer dot
    /// products, as llama.cpp and candle do for GGUF: several times less arithmetic, slightly
    /// less exact. Applies to Q8_0, Q4_0 and MLX 4/8-bit; other formats stay exact.
    case int8
}

/// Which implementation of the kernels runs.
public enum KernelPath: Int32, Sendable, CaseIterable, CustomStringConvertible {
    /// Plain loops over the dequantized values, accumulated in double: the test oracle.
    case scalar = 0
    case avx2 = 1
    case neon = 2
    /// The fastest path this CPU supports.
    case best = 99

    /// The path `.best` resolves to on this machine.
    public static var bestAvailable: KernelPath { KernelPath(rawValue: mk_best_path()) ?? .scalar }

    public var description: String {
        switch self {
        case .scalar: "scalar"
        case .avx2: "avx2+fma+f16c"
        case .neon: "neon"
        case .best: "best (\(KernelPath.bestAvailable))"
        }
    }
}

/// Why a `WeightMatrix` cannot be multiplied.
public struct MatvecError: Error, CustomStringConvertible {
    public let description: String
}

extension WeightMatrix {
    /// The C kernels' view of this matrix.
    var kernelMatrix: mk_matrix {
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
            m.format = Int32(bits == 4 ? MK_FORMAT_MLX4 : bits == 8 ? MK_FORMAT_MLX8 : -1)
            m.group_size = Int32(group)
            switch scaleType {
            case .f32: m.scale_type = Int32(MK_SCALE_F32)
            case .f16: m.scale_type = Int32(MK_SCALE_F16)
            case .bf16: m.scale_type = Int32(MK_SCALE_BF16)
            }
        }
        return m
    }

    /// Bytes of weight data (plus MLX scales and biases) one product reads.
    public var storageBytes: Int {
        switch format {
        case .f32: return rows * cols * 4
        case .bf16, .f16: return rows * cols * 2
        case .q8_0: return rows * (cols / 32) * 34
        case .q4_0: return rows * (cols / 32) * 18
        case .mlxAffine(let bits, let group, let scaleType):
            let scaleBytes = scaleType == .f32 ? 4 : 2
            return rows * cols * bits / 8 + 2 * rows * (cols / group) * scaleBytes
        }
    }

    /// Throws unless the kernels can run this matrix (block and group sizes divide the columns).
    public func validate() throws(MatvecError) {
        var m = kernelMatrix
        let code = mk_matrix_check(&m)
        switch code {
        case 0: return
        case -1: throw MatvecError(description: "weight format \(format) is not supported by the kernels")
        case -3: throw MatvecError(description: "\(format): unsupported MLX group size, scale type, or missing scales/biases")
        default: throw MatvecError(description: "a [\(rows), \(cols)] \(format) matrix needs columns in whole blocks/groups")
        }
    }

    /// Dequantizes the whole matrix to f32 (tests and tools; not for the hot path).
    public func dequantized() -> [Float] {
        var m = kernelMatrix
        return [Float](unsafeUninitializedCapacity: rows * cols) { buffer, count in
            mk_dequantize_rows(&m, 0, Int64(rows), buffer.baseAddress)
            count = rows * cols
        }
    }
}

/// Matrix-vector products `y[rows] = W[rows, cols] · x[cols]` for every `WeightFormat`.
/// *The* hot spot of the language model: a step is a few hundred of these.
///
/// A `Matvec` is made once per weight matrix (it owns the scratch the kernels reuse per call)
/// and then `run` allocates nothing.
public final class Matvec: @unchecked Sendable {
    public let weights: WeightMatrix
    public let precision: MatvecPrecision
    private var matrix: mk_matrix
    private let scratch: FloatBuffer
    private let batchCapacity: Int

    /// - Parameters:
    ///   - batch: the most vectors one `runBatch` call multiplies (scratch is sized for it).
    public init(_ weights: WeightMatrix, precision: MatvecPrecision = .exact, batch: Int = 1) throws(MatvecError) {
        try weights.validate()
        self.weights = weights
        self.precision = precision
        self.matrix = weights.kernelMatrix
        self.batchCapacity = max(1, batch)
        self.scratch = FloatBuffer(count: Int(mk_scratch_floats(Int64(weights.cols))) * max(1, batch))
    }

    /// `y = W · x`. `x` holds `cols` floats, `y` `rows` floats; `pool` nil runs on this thread.
    @inline(__always)
    public func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, pool: ThreadPool?, path: KernelPath = .best) {
        mk_matvec(pool?.handle, &matrix, x, y, scratch.pointer, precision == .int8 ? 1 : 0, path.rawValue)
    }

    /// `Y[n, rows] = X[n, cols] · Wᵀ` for `n <= batch` vectors, reading W once (exact path).
    public func runBatch(_ x: UnsafePointer<Float>, count n: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        precondition(n <= batchCapacity, "Matvec.runBatch: \(n) vectors, scratch sized for \(batchCapacity)")
        mk_matvec_batch(pool?.handle, &matrix, x, Int64(n), y, scratch.pointer)
    }
}
