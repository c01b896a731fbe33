#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Draws a token from `logits` as the reference's `sample_token` does (`utils/sampling.py`):
///
/// - `temperature <= 0` (or NaN): greedy, `argmax(logits)` (first maximum), no random draw.
/// - otherwise `p = softmax(logits / temperature)`; with `topK > 0` only the `topK` largest
///   logits stay candidates (fewer than `count`: ties at the threshold keep the lowest indices),
///   with `topK <= 0` or `topK >= count` every token is; then one categorical draw from the
///   candidates' renormalised probabilities.
///
/// The reference draws by `argmax(p / Exponential(1) noise)`; this draws by inverse CDF with one
/// uniform from `rng` (`u * sum`, walking the candidates). Both sample exactly the categorical
/// distribution; the token sequences of course differ from PyTorch's RNG. The k largest are found
/// with a min-heap in the scratch (O(count log k), no allocation). Weights are
/// `exp((logit - max) / temperature)` summed in Double. NaN logits are never candidates; if all
/// are NaN the result is 0.
///
/// - Parameters:
///   - logits: `[count]`.
///   - candidateValues, candidateIndices: scratch of at least `min(topK, count)` entries each
///     (unused, and may be nil, when every token is a candidate or when greedy).
/// - Returns: a token index in `0..<count` (0 when `count` is 0).
package func sampleToken<R: RandomNumberGenerator>(
    logits: UnsafePointer<Float>, count: Int, temperature: Float, topK: Int, using rng: inout R,
    candidateValues: UnsafeMutablePointer<Float>?, candidateIndices: UnsafeMutablePointer<Int32>?
) -> Int {
    guard count > 0 else { return 0 }
    guard temperature > 0 else { return argmax(logits, count: count) }
    let k = topK <= 0 ? count : min(topK, count)
    let invTemperature = 1 / Double(temperature)
    if k == count {
        let m = logits[argmax(logits, count: count)]
        guard m.isFinite else { return argmax(logits, count: count) }
        var sum = 0.0
        for i in 0..<count where !logits[i].isNaN { sum += exp(Double(logits[i] - m) * invTemperature) }
        let target = Double(rng.next() >> 11) * 0x1.0p-53 * sum
        var cumulative = 0.0
        var last = 0
        for i in 0..<count where !logits[i].isNaN {
            let w = exp(Double(logits[i] - m) * invTemperature)
            if w > 0 { last = i }
            cumulative += w
            if cumulative > target { return i }
        }
        return last
    }
    guard let values = candidateValues, let indices = candidateIndices else {
        preconditionFailure("sampleToken needs scratch for \(k) candidates")
    }
    var size = 0
    for i in 0..<count {
        let v = logits[i]
        if v.isNaN { continue }
        if size < k {
            // Push and sift up.
            var j = size
            size += 1
            while j > 0 {
                let parent = (j - 1) / 2
                if values[parent] <= v { break }
                values[j] = values[parent]
                indices[j] = indices[parent]
                j = parent
            }
            values[j] = v
            indices[j] = Int32(i)
        } else if v > values[0] {
            // Replace the smallest and sift down.
            var j = 0
            while true {
                let left = 2 * j + 1
                if left >= size { break }
                let right = left + 1
                let child = right < size && values[right] < values[left] ? right : left
                if values[child] >= v { break }
                values[j] = values[child]
                indices[j] = indices[child]
                j = child
            }
            values[j] = v
            indices[j] = Int32(i)
        }
    }
    guard size > 0 else { return 0 }
    var m = values[0]
    for j in 1..<max(size, 1) where values[j] > m { m = values[j] }
    guard m.isFinite else {
        // All candidates -inf, or some +inf: greedy among the candidates.
        var best = 0
        for j in 0..<size where values[j] == m && (values[best] != m || indices[j] < indices[best]) { best = j }
        return Int(indices[best])
    }
    var sum = 0.0
    for j in 0..<size { sum += exp(Double(values[j] - m) * invTemperature) }
    let target = Double(rng.next() >> 11) * 0x1.0p-53 * sum
    var cumulative = 0.0
    var last = Int(indices[0])
    for j in 0..<size {
        let w = exp(Double(values[j] - m) * invTemperature)
        if w > 0 { last = Int(indices[j]) }
        cumulative += w
        if cumulative > target { return Int(indices[j]) }
    }
    return last
}
