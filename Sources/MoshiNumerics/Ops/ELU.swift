import CKernels

/// ELU with alpha 1, as SEANet's `nn.ELU(alpha=1.0)`: `y = x` for `x > 0`, else `expm1(x)`
/// (PyTorch's vectorised CPU kernel also uses expm1). Element-wise over `count` floats;
/// `y` may equal `x`. CKernels' `mk_elu_f32`: 16 lanes on AVX-512, 8 on AVX2, a scalar loop
/// elsewhere, the same polynomial on each (accurate to ~2 ulp); `path` picks one (tests run
/// every path). Allocates nothing.
package func elu(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, path: KernelPath = .best) {
    mk_elu_f32(x, y, Int64(count), path.rawValue)
}

/// In-place ELU (alpha 1) over `count` floats.
package func eluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
    elu(UnsafePointer(x), count: count, into: x)
}
