import CKernels

/// How quantized matrix-vector products treat the activations (`runtime.matvec_precision`).
package enum MatvecPrecision: String, Sendable, CaseIterable {
    /// f32 arithmetic on exactly the dequantized weights (the reference's numbers, up to the
    /// order of float sums; the AVX-512 MLX 4-bit kernel holds each x to 2^-24 of the largest |x|
    /// among its 8 columns, as f32 holds that largest one, and multiplies with integer products).
    case exact
    /// Activations quantized to int8 per block of 32 (scale max|x|/127, round to nearest even),
    /// then exact integer dot products per block, as llama.cpp and candle do for GGUF: less
    /// arithmetic per weight, slightly less exact (the result is the dequantized W times the
    /// dequantized int8 x; about 0.4% relative L2 error on random data). Applies to Q8_0, Q4_0
    /// and MLX 4/8-bit; f32, bf16 and f16 stay exact.
    case int8Activations = "int8"
}

/// Which implementation of the kernels runs.
package enum KernelPath: Int32, Sendable, CaseIterable, CustomStringConvertible {
    /// Plain loops over the dequantized values, accumulated in double: the test oracle.
    case scalar = 0
    /// AVX2 + FMA + F16C (x86-64).
    case avx2 = 1
    /// NEON (arm64): f32, bf16, f16 vectorised; quantized formats use the scalar loops.
    case neon = 2
    /// AVX-512 F/BW/VL + VNNI (x86-64, with AVX2 + FMA + F16C): 512-bit f32/bf16/f16 rows and
    /// vpdpbusd int8 products; exact quantized products use the AVX2 kernels.
    case avx512 = 3
    /// The fastest path this CPU supports (chosen once from `CPUFeatures`).
    case best = 99

    /// The path `.best` resolves to on this machine.
    /// `MOSHI_KERNEL_PATH=scalar|avx2|avx512|neon` in the environment caps it (read once).
    package static var bestAvailable: KernelPath { KernelPath(rawValue: Int32(mk_best_path())) ?? .scalar }

    /// Every concrete path this CPU runs (scalar first), whatever `MOSHI_KERNEL_PATH` says:
    /// what tests compare against the scalar reference.
    package static var available: [KernelPath] {
        [.scalar, .avx2, .neon, .avx512].filter { mk_path_available($0.rawValue) != 0 }
    }

    package var description: String {
        switch self {
        case .scalar: "scalar"
        case .avx2: "avx2+fma+f16c"
        case .neon: "neon"
        case .avx512: "avx512+vnni"
        case .best: KernelPath.bestAvailable.description
        }
    }
}

/// Why a `WeightMatrix` cannot be multiplied.
package struct MatvecError: Error, CustomStringConvertible, Equatable {
    package let description: String
    package init(description: String) { self.description = description }
}

/// Reusable scratch for matrix-vector products: what each call computes once from x (int8
/// activations, MLX group sums). One per compute thread is enough; `Matvec`s can share it as
/// long as they run one at a time. Allocated once, 64-byte aligned.
package final class MatvecScratch: @unchecked Sendable {
    /// The widest matrix (columns) and the most vectors per batch it serves.
    package let columns: Int
    package let vectors: Int
    let buffer: FloatBuffer

    package init(columns: Int, vectors: Int = 1) {
        self.columns = max(0, columns)
        self.vectors = max(1, vectors)
        buffer = FloatBuffer(count: Int(mk_scratch_floats(Int64(self.columns))) * self.vectors)
    }
}

/// Matrix-vector products `y[rows] = W[rows, cols] · x[cols]` for every `WeightFormat`:
/// *the* hot spot of the language model, a step is a few hundred of these. The rows are split
/// over a `ThreadPool` in contiguous chunks of 16-row multiples (CKernels `mk_matvec`).
///
/// A `Matvec` is made once per weight matrix (validated then) and `run` allocates nothing,
/// takes no lock, and cannot fail. Calls that share a scratch (this one's or a shared
/// `MatvecScratch`) must not overlap in time.
package final class Matvec: @unchecked Sendable {
    package let weights: WeightMatrix
    package let precision: MatvecPrecision
    package let scratch: MatvecScratch
    private let matrix: mk_matrix

    /// - Parameters:
    ///   - precision: `.exact` (default) or `.int8Activations`.
    ///   - scratch: shared scratch; nil allocates one for this matrix and `batch` vectors.
    ///   - batch: the most vectors one `runBatch` call multiplies (when allocating scratch).
    package init(_ weights: WeightMatrix, precision: MatvecPrecision = .exact, scratch: MatvecScratch? = nil,
                batch: Int = 1) throws(MatvecError) {
        try weights.validate()
        if let scratch, scratch.columns < weights.cols {
            throw MatvecError(description: "scratch for \(scratch.columns) columns is too small for a [\(weights.rows), \(weights.cols)] matrix")
        }
        self.weights = weights
        self.precision = precision
        self.matrix = weights.kernelMatrix
        self.scratch = scratch ?? MatvecScratch(columns: weights.cols, vectors: batch)
    }

    /// `y = W · x` (+ `bias`), or `y += W · x` (+ `bias`) when `accumulate`.
    /// `x` holds `cols` floats, `y` and `bias` `rows` floats; `pool` nil runs on this thread.
    @inline(__always)
    package func run(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, pool: ThreadPool?,
                    bias: UnsafePointer<Float>? = nil, accumulate: Bool = false, path: KernelPath = .best) {
        var options = Matvec.options(precision, path, bias, accumulate)
        withUnsafePointer(to: matrix) { mk_matvec(pool?.handle, $0, x, y, scratch.buffer.pointer, &options) }
    }

    /// `Y[n, rows] = X[n, cols] · Wᵀ` (+ `bias` on every row) for `n` vectors stored one after
    /// another, reading W from memory once. `n` must not exceed the scratch's `vectors`.
    package func runBatch(_ x: UnsafePointer<Float>, count n: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool?,
                         bias: UnsafePointer<Float>? = nil, accumulate: Bool = false, path: KernelPath = .best) {
        precondition(n <= scratch.vectors, "Matvec.runBatch: \(n) vectors, scratch sized for \(scratch.vectors)")
        var options = Matvec.options(precision, path, bias, accumulate)
        withUnsafePointer(to: matrix) { mk_matvec_batch(pool?.handle, $0, x, Int64(n), y, scratch.buffer.pointer, &options) }
    }

    @inline(__always)
    private static func options(_ precision: MatvecPrecision, _ path: KernelPath, _ bias: UnsafePointer<Float>?,
                                _ accumulate: Bool) -> mk_matvec_options {
        mk_matvec_options(precision: precision == .exact ? Int32(MK_PRECISION_EXACT) : Int32(MK_PRECISION_INT8),
                          path: path.rawValue, bias: bias, accumulate: accumulate ? 1 : 0, reserved: 0)
    }
}
