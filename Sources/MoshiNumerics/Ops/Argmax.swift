/// Index of the largest of `count` floats, the FIRST one when several are equal (greedy decoding,
/// as `torch.argmax`). NaN entries are skipped (PyTorch would return a NaN's index); returns 0
/// when every entry is NaN or `count` is 0. Allocates nothing.
package func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
    var best = 0
    var bestValue = -Float.infinity
    var found = false
    for i in 0..<count where x[i] > bestValue || (!found && x[i] == bestValue) {
        best = i
        bestValue = x[i]
        found = true
    }
    return best
}
