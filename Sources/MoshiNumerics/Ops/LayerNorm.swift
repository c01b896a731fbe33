/// Layer normalisation over the channels of each row with weight and bias, as `nn.LayerNorm`
/// (the Mimi transformers' `norm1` / `norm2`, eps 1e-5):
///
///     mean  = mean_c x[t, c];   var = mean_c (x[t, c] - mean)^2      (biased, as PyTorch)
///     rstd  = 1 / sqrt(var + eps)
///     y[t,c] = (x[t, c] * rstd + (-rstd * mean)) * weight[c] + bias[c]
///
/// The final line is PyTorch's CPU kernel's float32 grouping; mean and variance are computed in
/// Double (two passes) and rounded, so they are at least as accurate as PyTorch's float moments.
///
/// - Parameters:
///   - x: `[rows, channels]`, row-major.
///   - weight, bias: `[channels]`.
///   - y: `[rows, channels]`; may equal `x`.
/// Allocates nothing.
package func layerNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                      eps: Float, rows: Int, channels: Int, into y: UnsafeMutablePointer<Float>) {
    guard channels > 0 else { return }
    for r in 0..<rows {
        let xr = x + r * channels
        let yr = y + r * channels
        var sum = 0.0
        for c in 0..<channels { sum += Double(xr[c]) }
        let mean = sum / Double(channels)
        var squares = 0.0
        for c in 0..<channels {
            let d = Double(xr[c]) - mean
            squares += d * d
        }
        let variance = Float(squares / Double(channels))
        let rstd = 1 / (max(variance, 0) + eps).squareRoot()
        let shift = -rstd * Float(mean)
        let vScale = FloatVector(repeating: rstd)
        let vShift = FloatVector(repeating: shift)
        var c = 0
        while c + 8 <= channels {
            let v = (loadVector(xr + c) * vScale + vShift) * loadVector(weight + c) + loadVector(bias + c)
            storeVector(v, yr + c)
            c += 8
        }
        while c < channels {
            yr[c] = (xr[c] * rstd + shift) * weight[c] + bias[c]
            c += 1
        }
    }
}
