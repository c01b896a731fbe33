// Small element-wise helpers for residual streams and attention: y += x, y += a*x, per-channel
// layer scale, scaling, and the dot product. All vectorised, all allocation-free; `count` floats.

/// `y[i] += x[i]` (residual add).
package func addInPlace(_ x: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
        storeVector(loadVector(y + i) + loadVector(x + i), y + i)
        i += 8
    }
    while i < count { y[i] += x[i]; i += 1 }
}

/// `y[i] += a * x[i]` (axpy).
package func addScaledInPlace(_ x: UnsafePointer<Float>, scale a: Float, to y: UnsafeMutablePointer<Float>, count: Int) {
    let va = FloatVector(repeating: a)
    var i = 0
    while i + 8 <= count {
        storeVector(loadVector(y + i) + va * loadVector(x + i), y + i)
        i += 8
    }
    while i < count { y[i] += a * x[i]; i += 1 }
}

/// `y[t, c] += scale[c] * x[t, c]` over `[rows, channels]`: a residual branch through a learnt
/// per-channel `LayerScale` (the Mimi transformers' `layer_scale_1/2.scale`, channel-last).
package func addChannelScaledInPlace(_ x: UnsafePointer<Float>, channelScale: UnsafePointer<Float>,
                                    to y: UnsafeMutablePointer<Float>, rows: Int, channels: Int) {
    for r in 0..<rows {
        let xr = x + r * channels
        let yr = y + r * channels
        var c = 0
        while c + 8 <= channels {
            storeVector(loadVector(yr + c) + loadVector(channelScale + c) * loadVector(xr + c), yr + c)
            c += 8
        }
        while c < channels { yr[c] += channelScale[c] * xr[c]; c += 1 }
    }
}

/// `x[i] *= a`.
package func scaleInPlace(_ x: UnsafeMutablePointer<Float>, by a: Float, count: Int) {
    let va = FloatVector(repeating: a)
    var i = 0
    while i + 8 <= count {
        storeVector(loadVector(x + i) * va, x + i)
        i += 8
    }
    while i < count { x[i] *= a; i += 1 }
}

/// `sum_i a[i] * b[i]`, accumulated in 8 float lanes (then summed), e.g. a query-key score.
package func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = FloatVector(repeating: 0)
    var i = 0
    while i + 8 <= count {
        lanes += loadVector(a + i) * loadVector(b + i)
        i += 8
    }
    var sum = lanes.sum()
    while i < count { sum += a[i] * b[i]; i += 1 }
    return sum
}
