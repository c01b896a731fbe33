/// The gated feed-forward combinator of the Moshi LM (`ActivationGating` with SiLU): each row
/// of `linear_in`'s output holds `2 * hidden` values, viewed as `[2, hidden]`; the FIRST half is
/// activated and multiplies the second:
/// `y[r, j] = silu(h[r, j]) * h[r, hidden + j]` for `j < hidden`.
///
/// - Parameters:
///   - h: `[rows, 2 * hidden]`, the output of `linear_in`.
///   - y: `[rows, hidden]`, the input of `linear_out`; must not overlap `h` except that it may
///     equal `h` (rows are then compacted in place, row 0 first).
/// Vectorised; allocates nothing.
package func siluGate(_ h: UnsafePointer<Float>, rows: Int, hidden: Int, into y: UnsafeMutablePointer<Float>) {
    for r in 0..<rows {
        let gate = h + r * 2 * hidden
        let value = gate + hidden
        let out = y + r * hidden
        var j = 0
        while j + 8 <= hidden {
            let g = loadVector(gate + j)
            storeVector(g / (1 + vectorExp(-g)) * loadVector(value + j), out + j)
            j += 8
        }
        while j < hidden {
            var g = FloatVector(repeating: 0)
            g[0] = gate[j]
            let s = (g / (1 + vectorExp(-g)))[0]
            out[j] = s * value[j]
            j += 1
        }
    }
}
