import Foundation
import Testing
@testable import MoshiNumerics

@Suite struct SoftmaxTests {
    func softmax(_ x: [Float]) -> [Float] {
        var y = x
        y.withUnsafeMutableBufferPointer { softmaxInPlace($0.baseAddress!, count: x.count) }
        return y
    }

    @Test func matchesDoubleAndSumsToOne() {
        var data = TestData(seed: 20)
        for count in [1, 5, 8, 13, 250, 3000] {
            let x = data.floats(count, -12, 12)
            let y = softmax(x)
            let m = Double(x.max()!)
            let e = x.map { exp(Double($0) - m) }
            let s = e.reduce(0, +)
            #expect(worstError(y, e.map { $0 / s }, abs: 1e-12, rel: 1e-6) <= 1, "count \(count)")
            #expect(abs(y.map(Double.init).reduce(0, +) - 1) < 1e-6)
        }
    }

    @Test func isInvariantToShifts() {
        var data = TestData(seed: 21)
        // Values on a 1/64 grid so that adding 40 is exact in float32.
        let x = (0..<77).map { _ in Float(data.int(-640...640)) / 64 }
        let a = softmax(x), b = softmax(x.map { $0 + 40 })
        #expect(worstError(a, b.map(Double.init), abs: 1e-12, rel: 1e-6) <= 1)
    }

    @Test func infinitiesMaskAndDominate() {
        #expect(softmax([0, -.infinity, 0, -.infinity]) == [0.5, 0, 0.5, 0])
        #expect(softmax([1, .infinity, 3, .infinity]) == [0, 0.5, 0, 0.5])
        #expect(softmax([-.infinity, -.infinity]).allSatisfy { $0.isNaN })
        // Huge spreads underflow to exactly 0 rather than to NaN.
        #expect(softmax([0, -1000, 1000]) == [0, 0, 1])
    }

    @Test func rowsAreIndependent() {
        var x: [Float] = [1, 2, 3, 100, 100, 100]
        x.withUnsafeMutableBufferPointer { softmaxRowsInPlace($0.baseAddress!, rows: 2, columns: 3) }
        #expect(Array(x[0..<3]) == softmax([1, 2, 3]))
        #expect(x[3..<6].allSatisfy { abs($0 - 1.0 / 3) < 1e-7 })
    }
}
