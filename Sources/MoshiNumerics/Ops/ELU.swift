/// ELU with alpha 1, as SEANet's `nn.ELU(alpha=1.0)`: `y = x` for `x > 0`, else `expm1(x)`
/// (PyTorch's vectorised CPU kernel also uses expm1). Element-wise over `count` floats;
/// `y` may equal `x`. Vectorised; accurate to ~2 ulp. Allocates nothing.
package func elu(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
    mapVectors(x, y, count: count) { v in
        let negative = vectorExpm1(v.replacing(with: 0, where: v .> 0))
        return negative.replacing(with: v, where: v .> 0)
    }
}

/// In-place ELU (alpha 1) over `count` floats.
package func eluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
    elu(UnsafePointer(x), count: count, into: x)
}
