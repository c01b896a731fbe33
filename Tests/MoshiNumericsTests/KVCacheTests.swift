import Foundation
import Testing
@testable import MoshiNumerics

/// `KVCache.attend` against attention computed in double over the steps a query may see, for
/// one step per call (the LM) and several steps per call (Mimi: all of a call's keys are
/// written before its queries attend, each query skipping the steps after its own), across the
/// ring's wrap, on every kernel path this CPU has, for head sizes the vector path takes (8k)
/// and the scalar fallback takes.
@Suite struct KVCacheTests {
    @Test(arguments: KernelPath.available, [1, 2, 3])
    func multiStepCallsSeeExactlyThePastSteps(path: KernelPath, stepsPerCall: Int) {
        for headDim in [8, 6] {
            let heads = 2, capacity = 5, width = heads * headDim
            let cache = KVCache(heads: heads, headDim: headDim, capacity: capacity)
            var rng = SplitMix(seed: UInt64(7 * stepsPerCall + headDim))
            var keys: [[Float]] = [], values: [[Float]] = []
            let scale: Float = 0.7
            var out = [Float](repeating: 0, count: width)
            for _ in 0..<6 {
                let queries = (0..<stepsPerCall).map { _ in (0..<width).map { _ in rng.float() } }
                for _ in 0..<stepsPerCall {
                    let k = (0..<width).map { _ in rng.float() }, v = (0..<width).map { _ in rng.float() }
                    keys.append(k)
                    values.append(v)
                    cache.append(key: k, value: v)
                }
                let last = keys.count - 1
                for t in 0..<stepsPerCall {
                    let position = last - (stepsPerCall - 1 - t)
                    cache.attend(queries[t], scale: scale, into: &out, pool: nil, skippingNewest: stepsPerCall - 1 - t, path: path)
                    // Visible: not in the future, within the window, and not overwritten in the ring.
                    let visible = (0...position).filter { $0 > position - capacity && $0 > last - capacity }
                    for h in 0..<heads {
                        let range = (h * headDim)..<((h + 1) * headDim)
                        let scores = visible.map { p in Double(scale) * zip(queries[t][range], keys[p][range]).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
                        let top = scores.max()!
                        let weights = scores.map { Foundation.exp($0 - top) }
                        let total = weights.reduce(0, +)
                        for i in range {
                            let expected = zip(visible, weights).reduce(0.0) { $0 + $1.1 * Double(values[$1.0][i]) } / total
                            #expect(abs(Double(out[i]) - expected) < 1e-5,
                                    "path \(path), \(stepsPerCall) steps a call, head size \(headDim), position \(position), element \(i)")
                        }
                    }
                }
            }
        }
    }
}
