/// RMS normalisation over the channels of each row, as the reference's `RMSNorm` with
/// `norm="rms_norm_f32"` (the Moshi LM's `norm1`, `norm2`, `out_norm`; eps 1e-8):
///
///     var    = eps + mean_c(x[t, c]^2)           (eps INSIDE the rsqrt, added after the mean)
///     y[t,c] = x[t, c] * (alpha[c] * (1 / sqrt(var)))
///
/// in float32 with that grouping (`alpha * rsqrt(var)` is rounded before multiplying `x`), as the
/// reference computes it. The squares are float32 as in the reference; their sum is accumulated
/// in 8 float lanes per block of 256 and the blocks in Double, so it is at least as accurate as
/// PyTorch's float32 cascade sum (results agree to a few ulp).
///
/// - Parameters:
///   - x: `[rows, channels]`, row-major.
///   - alpha: `[channels]`, the learnt gain (the checkpoint stores it as `[1, 1, channels]`).
///   - y: `[rows, channels]`; may equal `x`.
/// Allocates nothing.
package func rmsNorm(_ x: UnsafePointer<Float>, alpha: UnsafePointer<Float>, eps: Float,
                    rows: Int, channels: Int, into y: UnsafeMutablePointer<Float>) {
    guard channels > 0 else { return }
    for r in 0..<rows {
        let xr = x + r * channels
        let yr = y + r * channels
        let meanSquare = Float(sumOfSquares(xr, count: channels) / Double(channels))
        let inverseRMS = 1 / (eps + meanSquare).squareRoot()
        var c = 0
        let s = FloatVector(repeating: inverseRMS)
        while c + 8 <= channels {
            storeVector(loadVector(xr + c) * (loadVector(alpha + c) * s), yr + c)
            c += 8
        }
        while c < channels {
            yr[c] = xr[c] * (alpha[c] * inverseRMS)
            c += 1
        }
    }
}

/// `sum_i x[i]^2`, each square rounded to float32, the sum accumulated in 8 float lanes per block
/// of 256 elements and across blocks in Double.
@inline(__always)
func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
    var total = 0.0
    var start = 0
    while start < count {
        let end = min(start + 256, count)
        var lanes = FloatVector(repeating: 0)
        var i = start
        while i + 8 <= end {
            let v = loadVector(x + i)
            lanes += v * v
            i += 8
        }
        var block = Double(lanes.sum())
        while i < end {
            block += Double(x[i] * x[i])
            i += 1
        }
        total += block
        start = end
    }
    return total
}
