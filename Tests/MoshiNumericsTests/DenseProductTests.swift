import Testing
@testable import MoshiNumerics

/// `DenseProduct` (CKernels `mk_matmul_f32` for few rows, split sgemm for many) against the
/// double-precision triple loop, on every kernel path this CPU has, with ragged shapes (inner
/// sizes that are not multiples of 8 or 16, output counts that are not multiples of 4),
/// strided operands, accumulation, and pools of 1 to 3 threads.
@Suite struct DenseProductTests {
    func random(_ count: Int, _ rng: inout SplitMix) -> [Float] { (0..<count).map { _ in rng.float() } }

    /// `Y = A · Wᵀ` with A `[m, k]` at stride `lda`, W `[n, k]` at stride `ldw`, in double.
    func reference(m: Int, n: Int, k: Int, _ a: [Float], lda: Int, _ w: [Float], ldw: Int) -> [Float] {
        var y = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(a[i * lda + p]) * Double(w[j * ldw + p]) }
                y[i * n + j] = Float(s)
            }
        }
        return y
    }

    /// The largest relative error of `y` (`[m, ldy]`, started as `start`) against `expected`
    /// (`[m, n]`, plus `start` when accumulating); the padding between rows of Y must be untouched.
    func worstError(_ y: [Float], start: [Float], expected: [Float], m: Int, n: Int, ldy: Int, accumulate: Bool) -> Float {
        var worst: Float = 0
        for i in 0..<m {
            for j in 0..<n {
                let want = expected[i * n + j] + (accumulate ? start[i * ldy + j] : 0)
                worst = max(worst, abs(y[i * ldy + j] - want) / max(1, abs(want)))
            }
            for j in n..<ldy { #expect(y[i * ldy + j] == start[i * ldy + j], "padding of row \(i) written") }
        }
        return worst
    }

    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (1, 3, 7), (2, 5, 9), (3, 13, 17), (4, 130, 67), (1, 257, 64), (2, 1027, 100),
        (3, 64, 250), (4, 2048, 33), (1, 4096, 16), (6, 70, 31), (16, 96, 40), (7, 37, 20), (12, 64, 512),
    ]

    @Test(arguments: KernelPath.available)
    func fewRowKernelMatchesTheReference(path: KernelPath) {
        Matmul.configureBLAS(threads: 1)
        var rng = SplitMix(seed: 31)
        let pools: [ThreadPool?] = [nil, ThreadPool(threads: 2), ThreadPool(threads: 3)]
        for (m, n, k) in Self.shapes {
            let lda = k + 3, ldw = k + 5, ldy = n + 2
            let a = random(m * lda, &rng), w = random(n * ldw, &rng)
            let expected = reference(m: m, n: n, k: k, a, lda: lda, w, ldw: ldw)
            for pool in pools {
                let start = random(m * ldy, &rng)
                for accumulate in [false, true] {
                    var y = start
                    DenseProduct.fewRows(rows: m, outputs: n, inner: k, a, lda: lda, w, ldw: ldw,
                                         into: &y, ldy: ldy, accumulate: accumulate, pool: pool, path: path)
                    let worst = worstError(y, start: start, expected: expected, m: m, n: n, ldy: ldy, accumulate: accumulate)
                    #expect(worst <= 1e-5, "\(path) m \(m) n \(n) k \(k) threads \(pool?.threads ?? 1) accumulate \(accumulate): \(worst)")
                }
            }
            // Each row's outputs are the same sums whatever rows come with it (four at a time,
            // two, or alone): a stream batched with others gets what it gets alone, bit for bit.
            var together = [Float](repeating: 0, count: m * ldy)
            DenseProduct.fewRows(rows: m, outputs: n, inner: k, a, lda: lda, w, ldw: ldw,
                                 into: &together, ldy: ldy, pool: pools[1], path: path)
            for r in 0..<m {
                var alone = [Float](repeating: 0, count: n)
                Array(a[(r * lda)..<(r * lda + k)]).withUnsafeBufferPointer { row in
                    DenseProduct.fewRows(rows: 1, outputs: n, inner: k, row.baseAddress!, lda: k, w, ldw: ldw,
                                         into: &alone, ldy: n, pool: nil, path: path)
                }
                #expect(Array(together[(r * ldy)..<(r * ldy + n)]) == alone, "\(path) m \(m) n \(n) k \(k) row \(r)")
            }
        }
    }

    @Test func manyRowsGoThroughTheSplitSgemm() {
        Matmul.configureBLAS(threads: 1)
        var rng = SplitMix(seed: 32)
        let pool = ThreadPool(threads: 2)
        let (m, n, k) = (40, 130, 21)
        let a = random(m * k, &rng), w = random(n * k, &rng)
        let expected = reference(m: m, n: n, k: k, a, lda: k, w, ldw: k)
        var y = [Float](repeating: 1, count: m * n)
        DenseProduct.multiplyByTransposed(rows: m, outputs: n, inner: k, a, lda: k, w, ldw: k,
                                          into: &y, ldy: n, accumulate: true, pool: pool)
        #expect(zip(y, expected).allSatisfy { abs($0 - ($1 + 1)) <= 1e-4 * max(1, abs($1)) })
    }

    /// The many-row kernel over packed panels (`manyRows`, CKernels `mk_gemm_panels_f32`) on
    /// every path: row counts around the 8-row blocks, outputs around the 16- and 32-output
    /// panels, overlapping rows of A (a convolution's windows: lda smaller than k), strided Y,
    /// accumulation, pools of 1 to 3 threads; and `multiplyByTransposed` taking it when given panels.
    @Test(arguments: KernelPath.available)
    func manyRowKernelMatchesTheReference(path: KernelPath) {
        var rng = SplitMix(seed: 33)
        let pools: [ThreadPool?] = [nil, ThreadPool(threads: 2), ThreadPool(threads: 3)]
        let shapes: [(m: Int, n: Int, k: Int, lda: Int)] = [
            (5, 1, 7, 1), (8, 16, 9, 9), (9, 17, 33, 40), (15, 31, 64, 16), (16, 32, 3, 3), (23, 33, 20, 25),
            (64, 64, 192, 64), (130, 48, 40, 8), (200, 130, 96, 101),
            // Few row blocks and many panels: the threads split the panels, each task's panels
            // the outer loop (the deep convolutions of a batch of streams).
            (6, 200, 40, 41), (16, 250, 64, 70), (12, 97, 33, 12),
        ]
        for (m, n, k, lda) in shapes {
            let ldy = n + 3
            let a = random((m - 1) * lda + k, &rng), w = random(n * k, &rng)
            let panels = DenseProduct.packPanels(w, outputs: n, inner: k, ldw: k)
            #expect(panels.count == (n + 15) / 16 * 16 * k)
            let expected = reference(m: m, n: n, k: k, a, lda: lda, w, ldw: k)
            // However the threads split the product (rows or panels), every output is the
            // same sum: bit for bit what one thread computes.
            var alone = [Float](repeating: 0, count: m * ldy)
            DenseProduct.manyRows(rows: m, outputs: n, inner: k, a, lda: lda, panels: panels,
                                  into: &alone, ldy: ldy, pool: nil, path: path)
            for pool in pools.compactMap({ $0 }) {
                var y = [Float](repeating: 0, count: m * ldy)
                DenseProduct.manyRows(rows: m, outputs: n, inner: k, a, lda: lda, panels: panels,
                                      into: &y, ldy: ldy, pool: pool, path: path)
                #expect(y == alone, "\(path) m \(m) n \(n) k \(k) threads \(pool.threads): split changed the sums")
            }
            for pool in pools {
                let start = random(m * ldy, &rng)
                for accumulate in [false, true] {
                    var y = start
                    DenseProduct.manyRows(rows: m, outputs: n, inner: k, a, lda: lda, panels: panels,
                                          into: &y, ldy: ldy, accumulate: accumulate, pool: pool, path: path)
                    let worst = worstError(y, start: start, expected: expected, m: m, n: n, ldy: ldy, accumulate: accumulate)
                    #expect(worst <= 1e-5, "\(path) m \(m) n \(n) k \(k) threads \(pool?.threads ?? 1) accumulate \(accumulate): \(worst)")
                }
            }
            // Through the front door, as the convolutions call it (rows of A apart by at least
            // k there: sgemm, which runs where the panel kernel does not, needs lda >= k).
            guard lda >= k else { continue }
            var y = [Float](repeating: 0, count: m * n)
            DenseProduct.multiplyByTransposed(rows: m, outputs: n, inner: k, a, lda: lda, w, ldw: k, into: &y, ldy: n,
                                              pool: pools[1], panels: panels, path: path)
            #expect(zip(y, expected).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) }, "\(path) m \(m) n \(n) k \(k)")
        }
    }
}
