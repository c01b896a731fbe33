#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Exact (erf-based) GELU, PyTorch's default `F.gelu` (approximate="none"), used by the Mimi
/// transformers' feed-forward: `y = x * 0.5 * (1 + erf(x / sqrt(2)))`, in float32 in that order,
/// as PyTorch's CPU kernel does. `erff` is the C library's (glibc: < 1 ulp), so results agree
/// with PyTorch to about 1 ulp. Element-wise over `count` floats; `y` may equal `x`. Allocates nothing.
public func gelu(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
    let invSqrt2: Float = 0.707_106_781_186_547_524_4
    for i in 0..<count {
        let v = x[i]
        y[i] = v * 0.5 * (1 + erff(v * invSqrt2))
    }
}

/// In-place exact GELU over `count` floats.
public func geluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
    gelu(UnsafePointer(x), count: count, into: x)
}
