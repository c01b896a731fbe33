/// `norms[n] = ||codebook[n]||^2` for a `[entries, dimension]` codebook: precompute once per
/// codebook for `nearestCodebookEntries`. Squares in float32, summed as `sumOfSquares` does.
package func codebookSquaredNorms(_ codebook: UnsafePointer<Float>, entries: Int, dimension: Int,
                                 into norms: UnsafeMutablePointer<Float>) {
    for n in 0..<entries {
        norms[n] = Float(sumOfSquares(codebook + n * dimension, count: dimension))
    }
}

/// Nearest-neighbour vector quantisation, as the reference's `EuclideanCodebook._quantize`:
/// `codes[t] = argmin_n cdist(x[t], codebook[n])`, ties to the LOWEST index (torch.argmin).
///
/// The reference uses `torch.cdist(p=2)`, which for more than 25 codebook rows computes through
/// a matrix product: `d = sqrt(max(-2 x.c + ||x||^2 + ||c||^2, 1e-30))` in float32. This does the
/// same: `x.c` for all rows with one `DenseProduct.fewRows` (the codebook read once for all
/// vectors, its rows split over `pool`; each vector's dot products are the same whatever
/// `count`, so a batch of streams gets the codes each gets alone), then
/// `(-2 x.c + ||x||^2) + ||c||^2`, the clamp and `sqrtf` (which can merge near-equal squared
/// distances into a tie, decided by the lowest index as in the reference). Near-ties can still
/// differ from PyTorch by one float rounding of the dot products.
///
/// - Parameters:
///   - x: `[count, dimension]` vectors to quantise.
///   - codebook: `[entries, dimension]` (row n = entry n; for Mimi `embedding_sum / usage`).
///   - squaredNorms: `[entries]` from `codebookSquaredNorms`.
///   - scratch: at least `count * entries` floats (the distance matrix).
///   - codes: `[count]` outputs, in `0..<entries`.
/// Allocates nothing.
package func nearestCodebookEntries(_ x: UnsafePointer<Float>, count: Int, codebook: UnsafePointer<Float>,
                                   squaredNorms: UnsafePointer<Float>, entries: Int, dimension: Int,
                                   scratch: UnsafeMutablePointer<Float>, codes: UnsafeMutablePointer<Int32>,
                                   pool: ThreadPool? = nil) {
    guard count > 0 else { return }
    precondition(entries > 0 && dimension > 0, "codebook must have entries and a dimension")
    DenseProduct.fewRows(rows: count, outputs: entries, inner: dimension, x, lda: dimension,
                         codebook, ldw: dimension, into: scratch, ldy: entries, pool: pool)
    for t in 0..<count {
        let xNorm = Float(sumOfSquares(x + t * dimension, count: dimension))
        let dots = scratch + t * entries
        var best = 0
        var bestDistance = Float.infinity
        for n in 0..<entries {
            let squared = (-2 * dots[n] + xNorm) + squaredNorms[n]
            let distance = max(squared, 1e-30).squareRoot()
            if distance < bestDistance {
                bestDistance = distance
                best = n
            }
        }
        codes[t] = Int32(best)
    }
}
