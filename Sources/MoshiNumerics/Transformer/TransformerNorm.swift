/// The pre-norm of a transformer layer: the LM's RMSNorm (`alpha` only) or Mimi's LayerNorm
/// (weight and bias). Mimi's pointers stay valid as long as the `MimiWeights` that made them.
package enum TransformerNorm: @unchecked Sendable {
    case rms(alpha: [Float], epsilon: Float)
    case layer(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, epsilon: Float)

    /// `rows` rows of `channels` floats from `x` into `y`. Allocates nothing.
    @inline(__always)
    package func apply(_ x: UnsafePointer<Float>, rows: Int, channels: Int, into y: UnsafeMutablePointer<Float>) {
        switch self {
        case .rms(let alpha, let epsilon):
            alpha.withUnsafeBufferPointer { rmsNorm(x, alpha: $0.baseAddress!, eps: epsilon, rows: rows, channels: channels, into: y) }
        case .layer(let weight, let bias, let epsilon):
            layerNorm(x, weight: weight, bias: bias, eps: epsilon, rows: rows, channels: channels, into: y)
        }
    }
}
