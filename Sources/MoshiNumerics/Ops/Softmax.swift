/// Numerically stable softmax over `count` floats, in place:
/// `x[i] = exp(x[i] - max) / sum_j exp(x[j] - max)`, the normalisation done as a multiplication
/// by `1 / sum` as PyTorch's CPU kernel does. Vectorised (`vectorExp`, ~2 ulp per element; terms
/// more than 87 below the max give exactly 0, where PyTorch may give a denormal). A `-inf` entry
/// gives 0 (masking); if every entry is `-inf` the result is NaN, as in PyTorch; `+inf` entries
/// share the mass equally. NaN inputs give unspecified values (no trap). Allocates nothing.
package func softmaxInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
    guard count > 0 else { return }
    var maxValue = -Float.infinity
    for i in 0..<count where x[i] > maxValue { maxValue = x[i] }
    if maxValue == -Float.infinity {
        for i in 0..<count { x[i] = .nan }
        return
    }
    if maxValue == Float.infinity {
        // Avoid inf - inf: the +inf entries share the mass, everything else gets 0.
        var winners: Float = 0
        for i in 0..<count where x[i] == maxValue { winners += 1 }
        for i in 0..<count { x[i] = x[i] == maxValue ? 1 / winners : 0 }
        return
    }
    let m = FloatVector(repeating: maxValue)
    var sums = FloatVector(repeating: 0)
    var i = 0
    while i + 8 <= count {
        let e = vectorExp(loadVector(x + i) - m)
        storeVector(e, x + i)
        sums += e
        i += 8
    }
    var sum = sums.sum()
    while i < count {
        var v = FloatVector(repeating: 0)
        v[0] = x[i] - maxValue
        let e = vectorExp(v)[0]
        x[i] = e
        sum += e
        i += 1
    }
    let scale = 1 / sum
    var j = 0
    while j + 8 <= count {
        storeVector(loadVector(x + j) * scale, x + j)
        j += 8
    }
    while j < count { x[j] *= scale; j += 1 }
}

/// Softmax over each row of a row-major `[rows, columns]` buffer, in place.
package func softmaxRowsInPlace(_ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
    for r in 0..<rows { softmaxInPlace(x + r * columns, count: columns) }
}
