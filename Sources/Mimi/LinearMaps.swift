import CBLAS
import Numerics

// The one dense product every Mimi layer reduces to, and the small vector passes around it.

/// `Y[m, n] = A[m, k] · W[n, k]ᵀ (+ Y when accumulating)`: `m` input rows (time steps or conv
/// windows, `lda` floats apart) times a PyTorch-`Linear`-shaped weight (rows `ldw` floats
/// apart), into rows of `Y` `ldy` floats apart. f32 throughout; allocates nothing.
///
/// *The* hot spot of Mimi. Two regimes:
/// - few rows (`m <= streamingRowLimit`: the transformers' 2 steps, the deep SEANet layers):
///   the product is bound by reading W, so `streamingProduct` reads each weight once and
///   multiplies it with every row while it is in a register. (OpenBLAS's `sgemm` would first
///   copy-pack all of W, which costs more than the arithmetic when m is 1 or 2.)
/// - many rows (the early encoder and late decoder layers, 16 to 1920 steps): OpenBLAS
///   `cblas_sgemm`, whose packing is then amortised.
@inline(__always)
func multiplyByTransposed(rows m: Int, outputs n: Int, inner k: Int,
                          _ a: UnsafePointer<Float>, lda: Int,
                          _ w: UnsafePointer<Float>, ldw: Int,
                          into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool = false) {
    guard m > 0, n > 0 else { return }
    if m <= streamingRowLimit {
        streamingProduct(rows: m, outputs: n, inner: k, a, lda: lda, w, ldw: ldw, into: y, ldy: ldy, accumulate: accumulate)
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(m), blasint(n), blasint(k),
                    1, a, blasint(lda), w, blasint(ldw), accumulate ? 1 : 0, y, blasint(ldy))
    }
}

/// Up to this many rows, `multiplyByTransposed` streams the weights instead of calling sgemm.
let streamingRowLimit = 4

/// `y[m] = W[m, k] · x[k]`, e.g. a 1x1 projection of one latent vector.
@inline(__always)
func multiplyVector(outputs m: Int, inner k: Int, _ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                    into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
    streamingProduct(rows: 1, outputs: m, inner: k, x, lda: k, w, ldw: k, into: y, ldy: m, accumulate: accumulate)
}

/// `Y = A · Wᵀ` for a few rows of A, reading W once, row by row: each weight row is multiplied
/// with up to two rows of A at a time (8 lanes, two partial sums each), so a row of W is read
/// from memory once for m <= 2 and from cache after that.
func streamingProduct(rows m: Int, outputs n: Int, inner k: Int,
                      _ a: UnsafePointer<Float>, lda: Int,
                      _ w: UnsafePointer<Float>, ldw: Int,
                      into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool) {
    var r = 0
    while r + 2 <= m {
        let a0 = a + r * lda
        let a1 = a0 + lda
        let y0 = y + r * ldy
        let y1 = y0 + ldy
        for j in 0..<n {
            let (s0, s1) = dot2(w + j * ldw, a0, a1, count: k)
            if accumulate {
                y0[j] += s0
                y1[j] += s1
            } else {
                y0[j] = s0
                y1[j] = s1
            }
        }
        r += 2
    }
    if r < m {
        let a0 = a + r * lda
        let y0 = y + r * ldy
        for j in 0..<n {
            let s = dot1(w + j * ldw, a0, count: k)
            if accumulate { y0[j] += s } else { y0[j] = s }
        }
    }
}

private typealias Lanes = SIMD8<Float>

@inline(__always)
private func load(_ p: UnsafePointer<Float>) -> Lanes {
    UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
}

/// `(w · a0, w · a1)` over `count` floats.
@inline(__always)
private func dot2(_ w: UnsafePointer<Float>, _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>,
                  count: Int) -> (Float, Float) {
    var p0 = Lanes(), q0 = Lanes(), p1 = Lanes(), q1 = Lanes()
    var i = 0
    while i + 16 <= count {
        let u = load(w + i)
        let v = load(w + i + 8)
        p0 += u * load(a0 + i)
        q0 += v * load(a0 + i + 8)
        p1 += u * load(a1 + i)
        q1 += v * load(a1 + i + 8)
        i += 16
    }
    if i + 8 <= count {
        let u = load(w + i)
        p0 += u * load(a0 + i)
        p1 += u * load(a1 + i)
        i += 8
    }
    var s0 = (p0 + q0).sum()
    var s1 = (p1 + q1).sum()
    while i < count {
        s0 += w[i] * a0[i]
        s1 += w[i] * a1[i]
        i += 1
    }
    return (s0, s1)
}

/// `w · a` over `count` floats.
@inline(__always)
private func dot1(_ w: UnsafePointer<Float>, _ a: UnsafePointer<Float>, count: Int) -> Float {
    var p = Lanes(), q = Lanes()
    var i = 0
    while i + 16 <= count {
        p += load(w + i) * load(a + i)
        q += load(w + i + 8) * load(a + i + 8)
        i += 16
    }
    if i + 8 <= count {
        p += load(w + i) * load(a + i)
        i += 8
    }
    var s = (p + q).sum()
    while i < count {
        s += w[i] * a[i]
        i += 1
    }
    return s
}

/// `y[t, c] += bias[c]` over `[rows, channels]` (contiguous rows).
@inline(__always)
func addBias(_ bias: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, rows: Int, channels: Int) {
    for r in 0..<rows { addInPlace(bias, to: y + r * channels, count: channels) }
}
