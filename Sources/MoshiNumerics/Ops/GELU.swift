import CKernels

/// Exact (erf-based) GELU, PyTorch's default `F.gelu` (approximate="none"), used by the Mimi
/// transformers' feed-forward: `y = x * 0.5 * (1 + erf(x / sqrt(2)))`, in float32 in that order,
/// as PyTorch's CPU kernel does. CKernels' `mk_gelu_f32` (16 lanes on AVX-512, 8 on AVX2, a
/// scalar loop elsewhere; `path` picks one, tests run every path) evaluates erf within about
/// 1 ulp (glibc's `erff`, used before, is within 1). PyTorch's vectorised AVX2 kernel
/// approximates erf (Abramowitz-Stegun 7.1.26, |error| <= 1.5e-7), so the two agree to about
/// `1e-7 * max(1, |x|)` absolute (checked against PyTorch fixtures); this one is the more
/// accurate. Element-wise over `count` floats; `y` may equal `x`. Allocates nothing.
package func gelu(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, path: KernelPath = .best) {
    mk_gelu_f32(x, y, Int64(count), path.rawValue)
}

/// In-place exact GELU over `count` floats.
package func geluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
    gelu(UnsafePointer(x), count: count, into: x)
}
