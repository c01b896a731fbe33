/// `Y[n, rows] = X[n, cols] · Wᵀ` for a weight matrix in any format: many activation vectors
/// against one `Linear.weight` (a transformer step over several positions, a convolution
/// unrolled as GEMM).
///
/// f32 weights go straight to `cblas_sgemm`. Other formats: up to `batchedLimit` vectors run
/// as one batched matrix-vector product (W read once); more vectors dequantize W in blocks of
/// `blockRows` rows into per-thread scratch and multiply each block with `cblas_sgemm`, so the
/// dequantization is paid once per block for all vectors. Scratch is allocated at init.
public final class MatmulWeights: @unchecked Sendable {
    public let weights: WeightMatrix
    /// The most vectors one `run` takes.
    public let maxVectors: Int
    /// Up to this many vectors use the batched matrix-vector product.
    public static let batchedLimit = 4
    static let blockRows = 64

    private let matvec: Matvec
    private let blocks: FloatBuffer?      // [threads][blockRows, cols]: dequantized row blocks
    private let threads: Int

    /// - Parameters:
    ///   - maxVectors: the largest `n` a call passes.
    ///   - threads: the size of the pool `run` will be given (scratch per thread).
    public init(_ weights: WeightMatrix, maxVectors: Int, threads: Int = 1) throws(MatvecError) {
        self.weights = weights
        self.maxVectors = max(1, maxVectors)
        self.threads = max(1, threads)
        matvec = try Matvec(weights, batch: min(self.maxVectors, MatmulWeights.batchedLimit))
        if weights.format != .f32 && self.maxVectors > MatmulWeights.batchedLimit {
            blocks = FloatBuffer(count: self.threads * MatmulWeights.blockRows * weights.cols)
        } else {
            blocks = nil
        }
    }

    /// `y[n, rows] = x[n, cols] · Wᵀ`, rows of x and y dense. `pool` must have at most the
    /// `threads` given at init.
    public func run(_ x: UnsafePointer<Float>, count n: Int, into y: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        precondition(n <= maxVectors, "MatmulWeights.run: \(n) vectors, made for at most \(maxVectors)")
        precondition((pool?.threads ?? 1) <= threads, "MatmulWeights.run: pool of \(pool?.threads ?? 1) threads, scratch for \(threads)")
        guard n > 0, weights.rows > 0 else { return }
        let rows = weights.rows, cols = weights.cols
        if weights.format == .f32 {
            Matmul.sgemm(m: n, n: rows, k: cols, a: x, lda: cols, b: weights.data.assumingMemoryBound(to: Float.self), ldb: cols,
                         transposeB: true, c: y, ldc: rows, pool: pool)
            return
        }
        guard n > MatmulWeights.batchedLimit, let blocks else {
            matvec.runBatch(x, count: n, into: y, pool: pool)
            return
        }
        let blockRows = MatmulWeights.blockRows
        let body = { (block: Int, thread: Int) in
            let r0 = block * blockRows, r1 = min(rows, r0 + blockRows)
            let scratch = blocks.pointer + thread * blockRows * cols
            self.weights.dequantizeRows(r0..<r1, into: scratch)
            Matmul.sgemm(m: n, n: r1 - r0, k: cols, a: x, lda: cols, b: scratch, ldb: cols, transposeB: true, c: y + r0, ldc: rows)
        }
        let count = (rows + blockRows - 1) / blockRows
        if let pool {
            pool.run(tasks: count, body)
        } else {
            for block in 0..<count { body(block, 0) }
        }
    }
}
