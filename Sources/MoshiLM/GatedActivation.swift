import Foundation
import MoshiNumerics

extension LMConfig.Activation {
    /// `y[i] = act(h[i]) * h[hidden + i]` for one row of `2 * hidden` values (the reference's
    /// `ActivationGating`: the first half through the activation, times the second half).
    func gate(_ h: UnsafePointer<Float>, hidden: Int, into y: UnsafeMutablePointer<Float>) {
        switch self {
        case .silu:
            siluGate(h, rows: 1, hidden: hidden, into: y)
        case .gelu:
            MoshiNumerics.gelu(h, count: hidden, into: y)
            for i in 0..<hidden { y[i] *= h[hidden + i] }
        case .relu:
            for i in 0..<hidden { y[i] = max(h[i], 0) * h[hidden + i] }
        case .sigmoid:
            for i in 0..<hidden { y[i] = 1 / (1 + Foundation.exp(-h[i])) * h[hidden + i] }
        case .tanh:
            for i in 0..<hidden { y[i] = Foundation.tanh(h[i]) * h[hidden + i] }
        case .identity:
            for i in 0..<hidden { y[i] = h[i] * h[hidden + i] }
        }
    }
}
