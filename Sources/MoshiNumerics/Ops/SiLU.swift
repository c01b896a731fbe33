/// SiLU (swish): `y = x * sigmoid(x) = x / (1 + exp(-x))`, the form PyTorch's `F.silu` computes.
/// Element-wise over `count` floats; `y` may equal `x`. Vectorised (`vectorExp`, ~2 ulp): for
/// x below about -88 the result is a tiny negative number or -0 instead of PyTorch's exact -0.
/// Allocates nothing.
package func silu(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
    mapVectors(x, y, count: count) { v in v / (1 + vectorExp(-v)) }
}

/// In-place SiLU over `count` floats.
package func siluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
    silu(UnsafePointer(x), count: count, into: x)
}
