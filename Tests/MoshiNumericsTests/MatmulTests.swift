import Testing
@testable import MoshiNumerics

@Suite struct MatmulTests {
    func random(_ count: Int, _ rng: inout SplitMix) -> [Float] { (0..<count).map { _ in rng.float() } }

    func close(_ a: [Float], _ b: [Float], tolerance: Float = 1e-4) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
    }

    @Test(arguments: [false, true])
    func sgemmMatchesTheReference(transposeB: Bool) {
        Matmul.configureBLAS(threads: 1)        // pool tasks call BLAS; it must not start threads of its own
        var rng = SplitMix(seed: 21)
        let pool = ThreadPool(threads: 3)
        for (m, n, k) in [(1, 1, 1), (7, 13, 5), (33, 130, 67), (2, 257, 64)] {
            let a = random(m * k, &rng), b = random(k * n, &rng)
            var c = [Float](repeating: .nan, count: m * n), split = c, expected = c
            Matmul.sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: transposeB ? k : n, transposeB: transposeB, c: &c, ldc: n)
            Matmul.sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: transposeB ? k : n, transposeB: transposeB, c: &split, ldc: n, pool: pool)
            Matmul.reference(m: m, n: n, k: k, a: a, b: b, transposeB: transposeB, c: &expected)
            #expect(close(c, expected), "[\(m)x\(k)] x [\(k)x\(n)]")
            #expect(close(split, expected), "pool split, [\(m)x\(k)] x [\(k)x\(n)]")
        }
    }
}
