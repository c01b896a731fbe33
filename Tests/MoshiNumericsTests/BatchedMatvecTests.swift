import Testing
@testable import MoshiNumerics

/// `Matvec.runBatch` (one pass over W for n vectors; on AVX-512 each row's weights unpacked
/// once for up to 4 vectors) against `run` on each vector alone: equal bit for bit, for every
/// format, precision and path, ragged row and column counts, 1 to 9 vectors (across the
/// 4-vector groups), with bias and accumulation, on one thread and two.
@Suite struct BatchedMatvecTests {
    static let formats: [WeightFormat] = [
        .f32, .bf16, .f16, .q8_0, .q4_0,
        .mlxAffine(bits: 4, groupSize: 32, scaleType: .bf16), .mlxAffine(bits: 4, groupSize: 64, scaleType: .f16),
        .mlxAffine(bits: 4, groupSize: 128, scaleType: .f32), .mlxAffine(bits: 8, groupSize: 64, scaleType: .bf16),
        .mlxAffine(bits: 8, groupSize: 32, scaleType: .f32),
    ]

    @Test(arguments: formats.indices)
    func batchEqualsEachVectorAlone(formatIndex: Int) throws {
        let format = BatchedMatvecTests.formats[formatIndex]
        var rng = SplitMix(seed: 40 + UInt64(formatIndex))
        let dense = [WeightFormat.f32, .bf16, .f16].contains(format)
        // Dense: 203 columns = six 32-wide steps, one 8-wide step, 3 scalar tail elements;
        // 2347 columns: wide rows, which go by 1024 columns at a time on AVX-512 (two whole
        // passes, a short one, then the 8-wide step and the scalar tail).
        // Rows 37 and 150: not multiples of 16 or 4.
        let shapes = dense ? [(37, 203), (150, 64), (21, 2347)] : [(37, 256), (150, 128)]
        let pool = ThreadPool(threads: 2)
        for (rows, cols) in shapes {
            let t = TestMatrix(rows: rows, cols: cols, format: format, rng: &rng)
            let bias = (0..<rows).map { _ in rng.float() }
            for precision in [MatvecPrecision.exact, .int8Activations] {
                for path in KernelPath.available {
                    for n in [1, 2, 3, 4, 5, 9] {
                        let x = (0..<(n * cols)).map { _ in rng.float() }
                        let initial = (0..<(n * rows)).map { _ in rng.float() }
                        let mv = try Matvec(t.matrix, precision: precision, batch: n)
                        for (threads, accumulate) in [(1, false), (2, true)] {
                            var y = accumulate ? initial : [Float](repeating: .nan, count: n * rows)
                            x.withUnsafeBufferPointer { xp in
                                bias.withUnsafeBufferPointer { bp in
                                    y.withUnsafeMutableBufferPointer {
                                        mv.runBatch(xp.baseAddress!, count: n, into: $0.baseAddress!, pool: threads > 1 ? pool : nil,
                                                    bias: bp.baseAddress!, accumulate: accumulate, path: path)
                                    }
                                }
                            }
                            for v in 0..<n {
                                let alone = try product(t.matrix, Array(x[(v * cols)..<((v + 1) * cols)]), precision: precision, path: path,
                                                        bias: bias, initial: accumulate ? Array(initial[(v * rows)..<((v + 1) * rows)]) : nil)
                                let got = Array(y[(v * rows)..<((v + 1) * rows)])
                                #expect(got == alone, "\(format) \(rows)x\(cols) \(precision) \(path) n=\(n) threads=\(threads) vector \(v): max |d| \(zip(got, alone).map { abs($0 - $1) }.max() ?? 0)")
                            }
                        }
                    }
                }
            }
        }
    }
}
