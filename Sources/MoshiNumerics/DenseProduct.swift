import CKernels

/// `Y[m, n] = A[m, k] · W[n, k]ᵀ (+ Y)` in f32 for a PyTorch-`Linear`-shaped weight: the one
/// dense product of streaming layers (Mimi's convolutions and transformers), split over a pool.
///
/// Two regimes, by the number of rows of A:
/// - few rows (`m <= fewRowLimit`: transformer steps, the deep convolutions): bound by reading
///   W, so CKernels' `mk_matmul_f32` reads each weight once and multiplies it with every row
///   while it is in a register (sgemm would first copy-pack all of W); W's rows are split
///   over the pool.
/// - many rows (the early encoder and late decoder convolutions): with W packed in panels at
///   load time (`packPanels`) and AVX-512, CKernels' `mk_gemm_panels_f32`, 8 rows x 32 outputs
///   of accumulators in registers, A's rows split over the pool; else OpenBLAS `sgemm` (which
///   packs both operands each call) with the outputs split over the pool (`Matmul.sgemm(pool:)`).
///
/// Allocates nothing, takes no lock.
package enum DenseProduct {
    /// Up to this many rows of A, the weight-streaming kernel runs instead of sgemm.
    package static let fewRowLimit = 4

    /// - Parameters: rows of A, `Y`, `W` are `lda`, `ldy`, `ldw` floats apart;
    ///   `accumulate` adds to `Y` instead of overwriting it; `path` picks the few-row kernel's
    ///   implementation (tests run every path).
    @inline(__always)
    package static func multiplyByTransposed(rows m: Int, outputs n: Int, inner k: Int,
                                            _ a: UnsafePointer<Float>, lda: Int,
                                            _ w: UnsafePointer<Float>, ldw: Int,
                                            into y: UnsafeMutablePointer<Float>, ldy: Int,
                                            accumulate: Bool = false, pool: ThreadPool?,
                                            panels: UnsafePointer<Float>? = nil, path: KernelPath = .best) {
        guard m > 0, n > 0 else { return }
        if m <= fewRowLimit {
            fewRows(rows: m, outputs: n, inner: k, a, lda: lda, w, ldw: ldw, into: y, ldy: ldy,
                    accumulate: accumulate, pool: pool, path: path)
        } else if let panels, panelKernelRuns(path: path) {
            manyRows(rows: m, outputs: n, inner: k, a, lda: lda, panels: panels, into: y, ldy: ldy,
                     accumulate: accumulate, pool: pool, path: path)
        } else {
            Matmul.sgemm(m: m, n: n, k: k, a: a, lda: lda, b: w, ldb: ldw, transposeB: true,
                         c: y, ldc: ldy, beta: accumulate ? 1 : 0, pool: pool)
        }
    }

    /// Whether `multiplyByTransposed` runs the panel kernel for many rows when given panels
    /// on `path` (AVX-512); elsewhere it runs OpenBLAS's sgemm, whose rows of A may not overlap.
    package static func panelKernelRuns(path: KernelPath) -> Bool { mk_gemm_panels_fast(path.rawValue) != 0 }

    /// The weight-streaming kernel for any number of rows (what `multiplyByTransposed` runs
    /// for few rows).
    package static func fewRows(rows m: Int, outputs n: Int, inner k: Int,
                               _ a: UnsafePointer<Float>, lda: Int,
                               _ w: UnsafePointer<Float>, ldw: Int,
                               into y: UnsafeMutablePointer<Float>, ldy: Int,
                               accumulate: Bool = false, pool: ThreadPool?, path: KernelPath = .best) {
        var args = mk_matmul_f32_args(a: a, w: w, y: y, m: Int64(m), n: Int64(n), k: Int64(k),
                                      lda: Int64(lda), ldw: Int64(ldw), ldy: Int64(ldy),
                                      accumulate: accumulate ? 1 : 0, path: path.rawValue)
        mk_matmul_f32(pool?.handle, &args)
    }

    /// The many-row kernel over W packed in panels (`packPanels`): what `multiplyByTransposed`
    /// runs for more than `fewRowLimit` rows when it is given the panels and the CPU has the
    /// kernel (AVX-512; elsewhere the scalar loops, which tests compare against).
    package static func manyRows(rows m: Int, outputs n: Int, inner k: Int,
                                 _ a: UnsafePointer<Float>, lda: Int, panels: UnsafePointer<Float>,
                                 into y: UnsafeMutablePointer<Float>, ldy: Int,
                                 accumulate: Bool = false, pool: ThreadPool?, path: KernelPath = .best) {
        var args = mk_gemm_panels_args(a: a, packed: panels, y: y, m: Int64(m), n: Int64(n), k: Int64(k),
                                       lda: Int64(lda), ldy: Int64(ldy), accumulate: accumulate ? 1 : 0, path: path.rawValue)
        mk_gemm_panels_f32(pool?.handle, &args)
    }

    /// W (`[n, k]`, rows `ldw` apart) packed in panels of 16 outputs for `manyRows`, done once
    /// at load time (`ceil(n / 16) * 16 * k` floats).
    package static func packPanels(_ w: UnsafePointer<Float>, outputs n: Int, inner k: Int, ldw: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: Int(mk_packed_panels_floats(Int64(n), Int64(k)))) { buffer, count in
            mk_pack_panels_f32(w, Int64(n), Int64(k), Int64(ldw), buffer.baseAddress!)
            count = buffer.count
        }
    }

    /// `y[n] = W[n, k] · x[k]` (+ y), e.g. a 1x1 projection of one latent vector.
    @inline(__always)
    package static func multiplyVector(outputs n: Int, inner k: Int, _ w: UnsafePointer<Float>,
                                      _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                                      accumulate: Bool = false, pool: ThreadPool?) {
        fewRows(rows: 1, outputs: n, inner: k, x, lda: k, w, ldw: k, into: y, ldy: n,
                accumulate: accumulate, pool: pool)
    }

    /// `y[t, c] += bias[c]` over `[rows, channels]` (contiguous rows).
    @inline(__always)
    package static func addBias(_ bias: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, rows: Int, channels: Int) {
        for r in 0..<rows { addInPlace(bias, to: y + r * channels, count: channels) }
    }
}
