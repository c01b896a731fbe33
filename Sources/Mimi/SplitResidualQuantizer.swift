import MoshiNumerics

/// The split residual vector quantizer, streaming one latent vector at a time. Encoding: both
/// `rvq_first` and `rvq_rest` project the same latent (1x1, no bias); `rvq_first` picks code 0,
/// `rvq_rest` codes 1... from its own projection, each the nearest codebook row (squared L2,
/// ties to the lowest index) followed by subtracting that row from the residual. Decoding sums
/// the chosen rows of each part and projects them back.
final class SplitResidualQuantizer {
    let weights: QuantizerWeights
    let dimension: Int
    let codebookDimension: Int
    let codebookSize: Int
    var codebooks: Int { weights.codebooks.count }

    private let residual: FloatBuffer    // [codebookDimension]
    private let distances: FloatBuffer   // [codebookSize]
    private let firstSum: FloatBuffer    // [codebookDimension]
    private let restSum: FloatBuffer     // [codebookDimension]
    private let pool: ThreadPool?

    init(_ weights: QuantizerWeights, config: MimiConfig, pool: ThreadPool?) {
        self.pool = pool
        self.weights = weights
        dimension = config.seanetDimension
        codebookDimension = config.codebookDimension
        codebookSize = config.codebookSize
        residual = FloatBuffer(count: codebookDimension)
        distances = FloatBuffer(count: codebookSize)
        firstSum = FloatBuffer(count: codebookDimension)
        restSum = FloatBuffer(count: codebookDimension)
    }

    /// Quantizes one latent vector (`[dimension]`) into `codes` (`[codebooks]`).
    func encode(_ latent: UnsafePointer<Float>, codes: UnsafeMutablePointer<Int32>) {
        let c = codebookDimension
        DenseProduct.multiplyVector(outputs: c, inner: dimension, weights.firstInput, latent, into: residual.pointer, pool: pool)
        nearest(codebook: 0, code: codes)
        guard codebooks > 1 else { return }
        DenseProduct.multiplyVector(outputs: c, inner: dimension, weights.restInput, latent, into: residual.pointer, pool: pool)
        for q in 1..<codebooks {
            nearest(codebook: q, code: codes + q)
            let row = weights.codebooks[q].entries + Int(codes[q]) * c
            for i in 0..<c { residual[i] -= row[i] }
        }
    }

    private func nearest(codebook q: Int, code: UnsafeMutablePointer<Int32>) {
        let book = weights.codebooks[q]
        nearestCodebookEntries(residual.pointer, count: 1, codebook: book.entries, squaredNorms: book.squaredNorms,
                               entries: codebookSize, dimension: codebookDimension,
                               scratch: distances.pointer, codes: code, pool: pool)
    }

    /// Floats of scratch `encode(batch:)` needs for `streams` streams: their latents, residuals,
    /// dot products with a codebook, and codes.
    static func batchScratchCount(streams: Int, config: MimiConfig) -> Int {
        streams * (config.seanetDimension + config.codebookDimension + config.codebookSize + 1)
    }

    /// Quantizes one latent vector of each of `count` streams at once (`MimiBatch`): the
    /// projections and each codebook are read once for all streams, products split over
    /// `pool`. Every row goes through the same kernels as in `encode`, so each stream gets the
    /// codes it gets alone. `latents[i]` is `[dimension]`, `codes[i]` `[codebooks]`; `scratch`
    /// holds `batchScratchCount(streams: count, config:)` floats. Allocates nothing.
    func encode(batch latents: UnsafePointer<UnsafePointer<Float>>, codes: UnsafePointer<UnsafeMutablePointer<Int32>>,
                count: Int, scratch: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        let c = codebookDimension, d = dimension
        let stacked = scratch
        let residuals = stacked + count * d
        let dots = residuals + count * c
        let found = UnsafeMutableRawPointer(dots + count * codebookSize).assumingMemoryBound(to: Int32.self)
        for i in 0..<count { (stacked + i * d).update(from: latents[i], count: d) }
        func search(_ q: Int) {
            let book = weights.codebooks[q]
            nearestCodebookEntries(residuals, count: count, codebook: book.entries, squaredNorms: book.squaredNorms,
                                   entries: codebookSize, dimension: c, scratch: dots, codes: found, pool: pool)
            for i in 0..<count { codes[i][q] = found[i] }
        }
        DenseProduct.fewRows(rows: count, outputs: c, inner: d, stacked, lda: d, weights.firstInput, ldw: d,
                             into: residuals, ldy: c, pool: pool)
        search(0)
        guard codebooks > 1 else { return }
        DenseProduct.fewRows(rows: count, outputs: c, inner: d, stacked, lda: d, weights.restInput, ldw: d,
                             into: residuals, ldy: c, pool: pool)
        for q in 1..<codebooks {
            search(q)
            for i in 0..<count {
                let row = weights.codebooks[q].entries + Int(codes[i][q]) * c
                let r = residuals + i * c
                for j in 0..<c { r[j] -= row[j] }
            }
        }
    }

    /// Reconstructs one latent vector (`[dimension]`) from `codes` (`[codebooks]`, each in
    /// `0 ..< codebookSize`, checked by the caller).
    func decode(_ codes: UnsafePointer<Int32>, into latent: UnsafeMutablePointer<Float>) {
        let c = codebookDimension
        firstSum.pointer.update(from: weights.codebooks[0].entries + Int(codes[0]) * c, count: c)
        DenseProduct.multiplyVector(outputs: dimension, inner: c, weights.firstOutput, firstSum.pointer, into: latent, pool: pool)
        guard codebooks > 1 else { return }
        restSum.fill(0)
        for q in 1..<codebooks {
            addInPlace(weights.codebooks[q].entries + Int(codes[q]) * c, to: restSum.pointer, count: c)
        }
        DenseProduct.multiplyVector(outputs: dimension, inner: c, weights.restOutput, restSum.pointer, into: latent, accumulate: true, pool: pool)
    }
}
