#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rotary position embedding with interleaved pairs, as the reference's `apply_rope`
/// (`interleave=True`), applied to the queries and keys of one time step.
///
/// For each head, the pairs `(x[2i], x[2i+1])`, `i < headDim/2`, are rotated by the angle
/// `position * freq[i]`, where `freq[i] = exp(i * (-ln(maxPeriod) * 2 / headDim))`
/// (= `maxPeriod^(-2i/headDim)`) and `position` is the absolute step index (the streaming
/// offset plus the index within the call):
///
///     x'[2i]   = x[2i] * cos - x[2i+1] * sin
///     x'[2i+1] = x[2i] * sin + x[2i+1] * cos
///
/// Precision follows the reference, which does all of this in float32: the frequency table is
/// float32 (the exponent `-ln(maxPeriod)*2/headDim` rounded to float32, then times `i` in float32,
/// then exp), the angle is the float32 product `Float(position) * freq[i]` (rounding it matters
/// at positions in the thousands), and cos/sin of that float32 angle are correctly rounded
/// (computed in Double) where PyTorch's are within 1 ulp.
///
/// Construction allocates the frequency table once; `apply` allocates nothing and computes the
/// `headDim / 2` cosines and sines of the position once for all heads of q and k.
package struct RotaryEmbedding: Sendable {
    package let headDim: Int
    package let maxPeriod: Float
    /// `[headDim / 2]` rotation frequencies, float32 as the reference computes them.
    package let frequencies: [Float]

    /// - Precondition: `headDim` is positive and even (a configuration constant).
    package init(headDim: Int, maxPeriod: Float = 10_000) {
        precondition(headDim > 0 && headDim % 2 == 0, "RoPE head dimension must be positive and even, got \(headDim)")
        self.headDim = headDim
        self.maxPeriod = maxPeriod
        let exponent = Float(-log(Double(maxPeriod)) * 2 / Double(headDim))
        frequencies = (0..<(headDim / 2)).map { i in Float(exp(Double(Float(i) * exponent))) }
    }

    /// The angle (radians, float32) by which pair `pair` is rotated at `position`.
    @inline(__always)
    package func angle(pair: Int, position: Int) -> Float {
        Float(position) * frequencies[pair]
    }

    /// Rotates `q` (`[queryHeads, headDim]`) and `k` (`[keyHeads, headDim]`), heads contiguous,
    /// in place, at absolute position `position` (exact in float32 up to 2^24).
    package func apply(q: UnsafeMutablePointer<Float>, queryHeads: Int,
                      k: UnsafeMutablePointer<Float>, keyHeads: Int, position: Int) {
        frequencies.withUnsafeBufferPointer { freq in
            let t = Float(position)
            for i in 0..<(headDim / 2) {
                let a = Double(t * freq[i])
                let c = Float(cos(a))
                let s = Float(sin(a))
                rotatePair(q, heads: queryHeads, pair: i, cos: c, sin: s)
                rotatePair(k, heads: keyHeads, pair: i, cos: c, sin: s)
            }
        }
    }

    /// Rotates one set of heads (`[heads, headDim]`, contiguous) in place at `position`.
    package func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
        frequencies.withUnsafeBufferPointer { freq in
            let t = Float(position)
            for i in 0..<(headDim / 2) {
                let a = Double(t * freq[i])
                rotatePair(x, heads: heads, pair: i, cos: Float(cos(a)), sin: Float(sin(a)))
            }
        }
    }

    /// Fills `cos` and `sin` (`[headDim / 2]` each) with the rotation of every pair at
    /// `position`, so one step's rotation can be computed once and applied in every layer
    /// (`rotate(_:heads:cos:sin:)`). Allocates nothing.
    package func rotation(position: Int, cos cosOut: UnsafeMutablePointer<Float>, sin sinOut: UnsafeMutablePointer<Float>) {
        frequencies.withUnsafeBufferPointer { freq in
            let t = Float(position)
            for i in 0..<(headDim / 2) {
                let a = Double(t * freq[i])
                cosOut[i] = Float(cos(a))
                sinOut[i] = Float(sin(a))
            }
        }
    }

    /// Rotates `[heads, headDim]` (contiguous) in place with a rotation from `rotation(position:cos:sin:)`.
    package func rotate(_ x: UnsafeMutablePointer<Float>, heads: Int, cos c: UnsafePointer<Float>, sin s: UnsafePointer<Float>) {
        for h in 0..<heads {
            let p = x + h * headDim
            for i in 0..<(headDim / 2) {
                let re = p[2 * i]
                let im = p[2 * i + 1]
                p[2 * i] = re * c[i] - im * s[i]
                p[2 * i + 1] = re * s[i] + im * c[i]
            }
        }
    }

    @inline(__always)
    private func rotatePair(_ x: UnsafeMutablePointer<Float>, heads: Int, pair i: Int, cos c: Float, sin s: Float) {
        for h in 0..<heads {
            let p = x + h * headDim + 2 * i
            let re = p[0]
            let im = p[1]
            p[0] = re * c - im * s
            p[1] = re * s + im * c
        }
    }
}
