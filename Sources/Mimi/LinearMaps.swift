import CBLAS
import Numerics

// The one dense product every Mimi layer reduces to, and the small vector passes around it.

/// `Y[m, n] = A[m, k] · W[n, k]ᵀ + beta · Y`: `m` input rows (time steps or windows, `lda` floats
/// apart) times a PyTorch-`Linear`-shaped weight (rows `ldw` floats apart), into rows of `Y`
/// `ldy` floats apart. One OpenBLAS `cblas_sgemm` (f32 throughout). Allocates nothing.
@inline(__always)
func multiplyByTransposed(rows m: Int, outputs n: Int, inner k: Int,
                          _ a: UnsafePointer<Float>, lda: Int,
                          _ w: UnsafePointer<Float>, ldw: Int,
                          into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool = false) {
    guard m > 0, n > 0 else { return }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(m), blasint(n), blasint(k),
                1, a, blasint(lda), w, blasint(ldw), accumulate ? 1 : 0, y, blasint(ldy))
}

/// `y[m] = W[m, k] · x[k]` (`cblas_sgemv`), e.g. a 1x1 projection of one latent vector.
@inline(__always)
func multiplyVector(outputs m: Int, inner k: Int, _ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                    into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, blasint(m), blasint(k), 1, w, blasint(k), x, 1,
                accumulate ? 1 : 0, y, 1)
}

/// `y[t, c] += bias[c]` over `[rows, channels]` (contiguous rows).
@inline(__always)
func addBias(_ bias: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, rows: Int, channels: Int) {
    for r in 0..<rows { addInPlace(bias, to: y + r * channels, count: channels) }
}
