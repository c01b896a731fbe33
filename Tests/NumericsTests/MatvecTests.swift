import CKernels
import Testing
@testable import Numerics

@Suite struct MatvecTests {
    /// y for the given path and precision.
    func product(_ m: WeightMatrix, _ x: [Float], precision: MatvecPrecision, path: KernelPath, pool: ThreadPool? = nil) throws -> [Float] {
        let mv = try Matvec(m, precision: precision)
        var y = [Float](repeating: .nan, count: m.rows)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { mv.run(xp.baseAddress!, into: $0.baseAddress!, pool: pool, path: path) } }
        return y
    }

    /// Sum of |w x| per row: the scale a float error is measured against.
    func magnitudes(_ m: WeightMatrix, _ x: [Float]) -> [Double] {
        let w = m.dequantized()
        return (0..<m.rows).map { r in (0..<m.cols).reduce(0.0) { $0 + abs(Double(w[r * m.cols + $1]) * Double(x[$1])) } }
    }

    @Test(arguments: allTestFormats)
    func fastPathMatchesScalarReference(format: WeightFormat) throws {
        var rng = SplitMix(seed: 7)
        for trial in 0..<6 {
            let multiple = columnMultiple(format)
            let rows = rng.int(1...70)
            let cols = multiple == 1 ? rng.int(1...300) : multiple * rng.int(1...9)
            let t = TestMatrix(rows: rows, cols: cols, format: format, rng: &rng)
            let x = (0..<cols).map { _ in rng.float() }
            let reference = try product(t.matrix, x, precision: .exact, path: .scalar)
            let fast = try product(t.matrix, x, precision: .exact, path: .best)
            let scale = magnitudes(t.matrix, x)
            for r in 0..<rows {
                #expect(abs(Double(fast[r]) - Double(reference[r])) <= 1e-5 * scale[r] + 1e-30,
                        "\(format) trial \(trial) [\(rows)x\(cols)] row \(r): \(fast[r]) vs \(reference[r])")
            }
            // The reference itself is the dequantized matrix times x.
            let w = t.matrix.dequantized()
            for r in 0..<rows {
                let direct = (0..<cols).reduce(0.0) { $0 + Double(w[r * cols + $1]) * Double(x[$1]) }
                #expect(abs(direct - Double(reference[r])) <= 1e-6 * scale[r] + 1e-30)
            }
        }
    }

    @Test(arguments: allTestFormats.filter { mk_format_has_i8(($0 as WeightFormat).kernelMatrixFormat) != 0 })
    func int8PathMatchesItsReferenceAndStaysCloseToExact(format: WeightFormat) throws {
        var rng = SplitMix(seed: 11)
        for _ in 0..<4 {
            let rows = rng.int(1...40)
            let cols = columnMultiple(format) * rng.int(1...8)
            let t = TestMatrix(rows: rows, cols: cols, format: format, rng: &rng)
            let x = (0..<cols).map { _ in rng.float() }
            let reference = try product(t.matrix, x, precision: .int8, path: .scalar)
            let fast = try product(t.matrix, x, precision: .int8, path: .best)
            let exact = try product(t.matrix, x, precision: .exact, path: .scalar)
            let scale = magnitudes(t.matrix, x)
            var errorSquares = 0.0, norm = 0.0
            for r in 0..<rows {
                #expect(abs(Double(fast[r]) - Double(reference[r])) <= 1e-5 * scale[r] + 1e-30, "\(format) row \(r)")
                errorSquares += pow(Double(fast[r]) - Double(exact[r]), 2)
                norm += pow(Double(exact[r]), 2)
            }
            #expect((errorSquares / max(norm, 1e-30)).squareRoot() < 1e-2, "\(format): int8 path too far from exact")
        }
    }

    @Test func resultsDoNotDependOnTheThreadCount() throws {
        var rng = SplitMix(seed: 3)
        let t = TestMatrix(rows: 1000, cols: 512, format: .q4_0, rng: &rng)
        let x = (0..<512).map { _ in rng.float() }
        let one = try product(t.matrix, x, precision: .exact, path: .best)
        for threads in [2, 3] {
            let pool = ThreadPool(threads: threads)
            #expect(try product(t.matrix, x, precision: .exact, path: .best, pool: pool) == one)
            #expect(try product(t.matrix, x, precision: .int8, path: .best, pool: pool) == product(t.matrix, x, precision: .int8, path: .best))
        }
    }

    @Test func batchEqualsOneVectorAtATime() throws {
        var rng = SplitMix(seed: 5)
        let t = TestMatrix(rows: 300, cols: 256, format: .bf16, rng: &rng)
        let x = (0..<(3 * 256)).map { _ in rng.float() }
        let mv = try Matvec(t.matrix, batch: 3)
        var y = [Float](repeating: 0, count: 3 * 300)
        let pool = ThreadPool(threads: 2)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { mv.runBatch(xp.baseAddress!, count: 3, into: $0.baseAddress!, pool: pool) } }
        for v in 0..<3 {
            let single = try product(t.matrix, Array(x[(v * 256)..<((v + 1) * 256)]), precision: .exact, path: .best)
            #expect(Array(y[(v * 300)..<((v + 1) * 300)]) == single)
        }
    }

    @Test func raggedColumnsAreRejectedForBlockFormats() {
        let m = WeightMatrix(rows: 2, cols: 48, format: .q8_0, data: UnsafeRawPointer(bitPattern: 64)!)
        #expect(throws: MatvecError.self) { try m.validate() }
        let g = WeightMatrix(rows: 2, cols: 64, format: .mlxAffine(bits: 4, groupSize: 48, scaleType: .f16),
                             data: UnsafeRawPointer(bitPattern: 64)!, scales: UnsafeRawPointer(bitPattern: 64), biases: UnsafeRawPointer(bitPattern: 64))
        #expect(throws: MatvecError.self) { try g.validate() }
    }
}

extension WeightFormat {
    var kernelMatrixFormat: Int32 {
        WeightMatrix(rows: 1, cols: 32, format: self, data: UnsafeRawPointer(bitPattern: 64)!).kernelMatrix.format
    }
}

import Foundation
