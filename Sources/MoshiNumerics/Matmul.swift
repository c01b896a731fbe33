import CBLAS
import CKernels

/// Dense f32 matrix products through OpenBLAS (`cblas_sgemm`), for where both operands are
/// activations or many vectors meet one matrix (attention over a window, convolutions as GEMM).
package enum Matmul {
    /// Sets OpenBLAS's own thread count (`openblas_set_num_threads`; it starts with one per CPU).
    package static func configureBLAS(threads: Int) {
        openblas_set_num_threads(Int32(clamping: max(1, threads)))
    }

    /// OpenBLAS on one thread per call, set once before the first product: `ThreadPool`s own
    /// the cores, and `sgemm(..., pool:)` calls `cblas_sgemm` from several pool threads at
    /// once. With its own threads as well, OpenBLAS's server deadlocks under such concurrent
    /// callers (seen: two pool threads, one spinning in `exec_blas`, one blocked on its mutex).
    package static let singleThreadedBLAS: Void = { openblas_set_num_threads(1) }()

    /// C[m, n] = alpha · A[m, k] · B (+ beta · C), row-major. B is `[k, n]`, or with
    /// `transposeB` `[n, k]` (a `Linear.weight`), so `transposeB: true` computes X · Wᵀ.
    /// Runs on the calling thread.
    @inline(__always)
    package static func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                             c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float = 1, beta: Float = 0) {
        _ = singleThreadedBLAS
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// `sgemm` with the columns of C (the n dimension) split over a pool in contiguous pieces,
    /// each piece one `cblas_sgemm` on one thread. Same arguments and result as `sgemm`.
    package static func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                             c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float = 1, beta: Float = 0,
                             pool: ThreadPool?) {
        guard let pool, pool.threads > 1, n >= 64 else {
            sgemm(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, transposeB: transposeB, c: c, ldc: ldc, alpha: alpha, beta: beta)
            return
        }
        let pieces = pool.threads
        let width = ((n + pieces - 1) / pieces + 15) / 16 * 16
        // A C task function over a job on this stack frame: no closure context to allocate.
        var job = SgemmSplit(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, transposeB: transposeB,
                             c: c, ldc: ldc, alpha: alpha, beta: beta, width: width)
        withUnsafeMutablePointer(to: &job) { job in
            mk_pool_run(pool.handle, { raw, piece, _ in
                let job = raw!.assumingMemoryBound(to: SgemmSplit.self).pointee
                let j0 = Int(piece) * job.width, j1 = min(job.n, j0 + job.width)
                guard j0 < j1 else { return }
                let bPiece = job.transposeB ? job.b + j0 * job.ldb : job.b + j0
                Matmul.sgemm(m: job.m, n: j1 - j0, k: job.k, a: job.a, lda: job.lda, b: bPiece, ldb: job.ldb,
                      transposeB: job.transposeB, c: job.c + j0, ldc: job.ldc, alpha: job.alpha, beta: job.beta)
            }, UnsafeMutableRawPointer(job), Int64((n + width - 1) / width))
        }
    }

    /// One `sgemm(pool:)` call's operands, for its pool tasks.
    private struct SgemmSplit {
        let m, n, k: Int
        let a: UnsafePointer<Float>
        let lda: Int
        let b: UnsafePointer<Float>
        let ldb: Int
        let transposeB: Bool
        let c: UnsafeMutablePointer<Float>
        let ldc: Int
        let alpha, beta: Float
        let width: Int
    }

    /// The plain triple loop with double accumulation: what the BLAS path is tested against.
    /// A is `[m, k]`, B `[k, n]` (or `[n, k]` with `transposeB`), C `[m, n]`, all dense.
    package static func reference(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                 transposeB: Bool, c: UnsafeMutablePointer<Float>) {
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    s += Double(a[i * k + p]) * Double(transposeB ? b[j * k + p] : b[p * n + j])
                }
                c[i * n + j] = Float(s)
            }
        }
    }
}
