#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The activation of a transformer's feed-forward: Mimi's plain `linear2(GELU(linear1(x)))`
/// or, gated, the LM's `linear_out(act(first half) * second half)` (the reference's
/// `ActivationGating`). The names are the reference's config values (`gating`).
package enum TransformerActivation: String, Sendable, Equatable, CaseIterable {
    case silu, gelu, relu, sigmoid, tanh, identity

    /// `x[i] = act(x[i])` over `count` floats (GELU exact, erf-based).
    package func applyInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .gelu: geluInPlace(x, count: count)
        case .silu: for i in 0..<count { x[i] = x[i] / (1 + expf(-x[i])) }
        case .relu: for i in 0..<count { x[i] = max(x[i], 0) }
        case .sigmoid: for i in 0..<count { x[i] = 1 / (1 + expf(-x[i])) }
        case .tanh: for i in 0..<count { x[i] = tanhf(x[i]) }
        case .identity: break
        }
    }

    /// `y[i] = act(h[i]) * h[hidden + i]` for one row of `2 * hidden` values.
    package func gate(_ h: UnsafePointer<Float>, hidden: Int, into y: UnsafeMutablePointer<Float>) {
        switch self {
        case .silu:
            siluGate(h, rows: 1, hidden: hidden, into: y)
        case .gelu:
            MoshiNumerics.gelu(h, count: hidden, into: y)
            for i in 0..<hidden { y[i] *= h[hidden + i] }
        case .relu:
            for i in 0..<hidden { y[i] = max(h[i], 0) * h[hidden + i] }
        case .sigmoid:
            for i in 0..<hidden { y[i] = 1 / (1 + expf(-h[i])) * h[hidden + i] }
        case .tanh:
            for i in 0..<hidden { y[i] = tanhf(h[i]) * h[hidden + i] }
        case .identity:
            for i in 0..<hidden { y[i] = h[i] * h[hidden + i] }
        }
    }
}
