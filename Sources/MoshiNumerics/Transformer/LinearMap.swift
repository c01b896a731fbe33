/// One of a transformer layer's weight products, `Y[rows, outputs] = X[rows, inner] · Wᵀ`,
/// on whichever kernel the weights are made for:
/// - `matvec`: any `WeightFormat` (f32, 16-bit, quantized) through `Matvec`, the LM's matrices;
///   several rows read W once (`runBatch`), each row getting the numbers it gets alone.
/// - `dense`: an f32 PyTorch-`Linear` weight through `DenseProduct.fewRows`, Mimi's matrices
///   (a row's result is the same whatever the other rows and however the pool splits W).
package enum LinearMap: @unchecked Sendable {
    case matvec(Matvec)
    case dense(UnsafePointer<Float>, outputs: Int, inner: Int)

    package var outputs: Int {
        switch self {
        case .matvec(let m): m.weights.rows
        case .dense(_, let outputs, _): outputs
        }
    }

    package var inner: Int {
        switch self {
        case .matvec(let m): m.weights.cols
        case .dense(_, _, let inner): inner
        }
    }

    /// `rows` contiguous rows of `inner` floats into `rows` contiguous rows of `outputs`
    /// floats, added to `y` when `accumulate`. Allocates nothing.
    @inline(__always)
    package func run(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false,
                     pool: ThreadPool?) {
        switch self {
        case .matvec(let m):
            if rows == 1 {
                m.run(x, into: y, pool: pool, accumulate: accumulate)
            } else {
                m.runBatch(x, count: rows, into: y, pool: pool, accumulate: accumulate)
            }
        case .dense(let w, let outputs, let inner):
            DenseProduct.fewRows(rows: rows, outputs: outputs, inner: inner, x, lda: inner, w, ldw: inner,
                                 into: y, ldy: outputs, accumulate: accumulate, pool: pool)
        }
    }
}
