import CBLAS

/// Dense f32 matrix products through OpenBLAS (`cblas_sgemm`), for the few places where both
/// operands are activations or the batch is large (attention over a window, convolutions).
public enum Matmul {
    /// OpenBLAS runs on one thread: our own `ThreadPool` owns the cores, and a kernel inside a
    /// pool task must not start threads of its own. Called once at start-up.
    public static func configureBLAS(threads: Int = 1) {
        openblas_set_num_threads(Int32(threads))
    }

    /// C[m, n] = alpha · A[m, k] · B[k, n] (+ beta · C). `transposeB` reads B as `[n, k]`
    /// (a `Linear.weight`), so `transposeB: true` computes X · Wᵀ.
    @inline(__always)
    public static func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                             c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float = 1, beta: Float = 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The plain triple loop (double accumulation): the reference the BLAS path is tested against.
    public static func reference(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
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
