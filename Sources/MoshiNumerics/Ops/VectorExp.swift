// Vectorised exp for Float, the transcendental core of softmax and SiLU (ELU, GELU and the
// attention's softmax weights are in CKernels, mk_activation.c).

/// The vector width the element-wise kernels in `Ops/` work in.
typealias FloatVector = SIMD8<Float>

/// Splits `exp(x)` into `scale * (1 + p)`, with `scale = 2^n` exact and `p = expm1(r)` for the
/// reduced argument `r = x - n*ln2`, `|r| <= ln2/2`.
///
/// Cody-Waite range reduction (ln2 split in a short high part and a low part, so `n*ln2Hi` is
/// exact), then the degree-8 Taylor polynomial of expm1 in Horner form: truncation error below
/// 2e-9 relative, about 1-2 ulp overall. The input is clamped to [-87, 88] so `2^n` is a normal
/// float (`vectorExp` flushes x < -87 to 0) and saturates at ~1.65e38
/// instead of +inf; NaN inputs give unspecified (but non-trapping) results.
@inline(__always)
func expSplit(_ x: FloatVector) -> (scale: FloatVector, p: FloatVector) {
    // (`clamped` / `pointwiseMin` are not inlined into vector code; compare-and-replace is.)
    var xc = x.replacing(with: -87, where: x .< -87)
    xc = xc.replacing(with: 88, where: xc .> 88)
    // Round x*log2(e) to the nearest integer with the 1.5*2^23 trick; the low bits of the sum's
    // bit pattern then hold n as an integer.
    let magic = FloatVector(repeating: 12_582_912)
    let shifted = xc * 1.442_695_04 + magic
    let n = shifted - magic
    let nBits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let r = (xc - n * 0.693_359_375) - n * -2.121_944_4e-4
    var p = FloatVector(repeating: 1.0 / 40320)
    p = p * r + 1.0 / 5040
    p = p * r + 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r
    let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: FloatVector.self)
    return (scale, p)
}

/// e^x per lane (see `expSplit` for accuracy); exactly 0 for x < -87 (so `exp(-inf) = 0`),
/// ~1.65e38 for x >= 88.
@inline(__always)
func vectorExp(_ x: FloatVector) -> FloatVector {
    let (scale, p) = expSplit(x)
    return (scale + scale * p).replacing(with: 0, where: x .< -87)
}

/// Loads 8 floats from `p` (no alignment needed).
@inline(__always)
func loadVector(_ p: UnsafePointer<Float>) -> FloatVector {
    UnsafeRawPointer(p).loadUnaligned(as: FloatVector.self)
}

/// Stores 8 floats to `p` (no alignment needed).
@inline(__always)
func storeVector(_ v: FloatVector, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: FloatVector.self)
}

/// Applies a lane-wise function to `count` floats from `x` into `y` (which may equal `x`),
/// 8 at a time, the tail through a zero-padded vector. Allocates nothing.
@inline(__always)
func mapVectors(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
                _ f: (FloatVector) -> FloatVector) {
    var i = 0
    while i + 8 <= count {
        storeVector(f(loadVector(x + i)), y + i)
        i += 8
    }
    if i < count {
        var v = FloatVector(repeating: 0)
        for j in 0..<(count - i) { v[j] = x[i + j] }
        let r = f(v)
        for j in 0..<(count - i) { y[i + j] = r[j] }
    }
}
