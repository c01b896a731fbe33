import CBLAS
import MoshiNumerics

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

/// `Y = A · Wᵀ` for a few rows of A, reading W once per pair of A rows.
///
/// Memory-bound, so the order W is read in matters more than the arithmetic: W's rows are
/// split into four contiguous quarters and row j of each quarter is processed together, so
/// the weights stream in as four long sequential runs at once. On this machine's cores that
/// reads ~20 GB/s, where one run (row after row) reaches ~12 GB/s: the hardware prefetcher
/// keeps several streams in flight. Each weight vector is multiplied with both A rows of a
/// pair while it is in a register.
func streamingProduct(rows m: Int, outputs n: Int, inner k: Int,
                      _ a: UnsafePointer<Float>, lda: Int,
                      _ w: UnsafePointer<Float>, ldw: Int,
                      into y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool) {
    var r = 0
    while r < m {
        let pair = r + 2 <= m
        let a0 = a + r * lda
        let y0 = y + r * ldy
        let quarter = n / 4
        for j in 0..<quarter {
            let rows = (w + j * ldw, w + (j + quarter) * ldw, w + (j + 2 * quarter) * ldw, w + (j + 3 * quarter) * ldw)
            if pair {
                let (s0, s1) = dot4x2(rows, a0, a0 + lda, count: k)
                store(s0, y0, j, quarter, accumulate)
                store(s1, y0 + ldy, j, quarter, accumulate)
            } else {
                store(dot4x1(rows, a0, count: k), y0, j, quarter, accumulate)
            }
        }
        for j in (4 * quarter)..<n {
            let row = w + j * ldw
            let s0 = dot1(row, a0, count: k)
            if accumulate { y0[j] += s0 } else { y0[j] = s0 }
            if pair {
                let s1 = dot1(row, a0 + lda, count: k)
                if accumulate { y0[ldy + j] += s1 } else { y0[ldy + j] = s1 }
            }
        }
        r += pair ? 2 : 1
    }
}

private typealias Lanes = SIMD8<Float>
private typealias FourRows = (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>)

@inline(__always)
private func load(_ p: UnsafePointer<Float>) -> Lanes {
    UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
}

/// Writes (or adds) the four dot products of quarter rows `j`, `j + q`, `j + 2q`, `j + 3q`.
@inline(__always)
private func store(_ s: SIMD4<Float>, _ y: UnsafeMutablePointer<Float>, _ j: Int, _ q: Int, _ accumulate: Bool) {
    if accumulate {
        y[j] += s[0]; y[j + q] += s[1]; y[j + 2 * q] += s[2]; y[j + 3 * q] += s[3]
    } else {
        y[j] = s[0]; y[j + q] = s[1]; y[j + 2 * q] = s[2]; y[j + 3 * q] = s[3]
    }
}

/// The dot products of four weight rows with two vectors, over `count` floats.
@inline(__always)
private func dot4x2(_ w: FourRows, _ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>,
                    count: Int) -> (SIMD4<Float>, SIMD4<Float>) {
    var p0 = Lanes(), p1 = Lanes(), p2 = Lanes(), p3 = Lanes()
    var q0 = Lanes(), q1 = Lanes(), q2 = Lanes(), q3 = Lanes()
    var i = 0
    while i + 8 <= count {
        let x0 = load(a0 + i), x1 = load(a1 + i)
        let u0 = load(w.0 + i); p0 += u0 * x0; q0 += u0 * x1
        let u1 = load(w.1 + i); p1 += u1 * x0; q1 += u1 * x1
        let u2 = load(w.2 + i); p2 += u2 * x0; q2 += u2 * x1
        let u3 = load(w.3 + i); p3 += u3 * x0; q3 += u3 * x1
        i += 8
    }
    var s0 = SIMD4(p0.sum(), p1.sum(), p2.sum(), p3.sum())
    var s1 = SIMD4(q0.sum(), q1.sum(), q2.sum(), q3.sum())
    while i < count {
        let u = SIMD4(w.0[i], w.1[i], w.2[i], w.3[i])
        s0 += u * a0[i]
        s1 += u * a1[i]
        i += 1
    }
    return (s0, s1)
}

/// The dot products of four weight rows with one vector, over `count` floats.
@inline(__always)
private func dot4x1(_ w: FourRows, _ a: UnsafePointer<Float>, count: Int) -> SIMD4<Float> {
    var p0 = Lanes(), p1 = Lanes(), p2 = Lanes(), p3 = Lanes()
    var i = 0
    while i + 8 <= count {
        let x = load(a + i)
        p0 += load(w.0 + i) * x
        p1 += load(w.1 + i) * x
        p2 += load(w.2 + i) * x
        p3 += load(w.3 + i) * x
        i += 8
    }
    var s = SIMD4(p0.sum(), p1.sum(), p2.sum(), p3.sum())
    while i < count {
        s += SIMD4(w.0[i], w.1[i], w.2[i], w.3[i]) * a[i]
        i += 1
    }
    return s
}

/// `w · a` over `count` floats.
@inline(__always)
private func dot1(_ w: UnsafePointer<Float>, _ a: UnsafePointer<Float>, count: Int) -> Float {
    var p = Lanes()
    var i = 0
    while i + 8 <= count {
        p += load(w + i) * load(a + i)
        i += 8
    }
    var s = p.sum()
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
