import Foundation
import MoshiNumerics

/// Deterministic test data for the `Ops` tests.
struct TestData {
    var rng: Xoshiro256StarStar

    init(seed: UInt64) { rng = Xoshiro256StarStar(seed: seed) }

    /// Uniform in [low, high).
    mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * Float(rng.nextUnitDouble())
    }

    /// `count` floats uniform in [low, high).
    mutating func floats(_ count: Int, _ low: Float = -1, _ high: Float = 1) -> [Float] {
        (0..<count).map { _ in uniform(low, high) }
    }

    /// A standard normal value (Box-Muller).
    mutating func normal() -> Float {
        let u1 = max(rng.nextUnitDouble(), 1e-300)
        let u2 = rng.nextUnitDouble()
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    mutating func normals(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in normal() * scale }
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(rng.next() % UInt64(range.count))
    }
}

/// The largest `|a[i] - b[i]| / (absTolerance + relTolerance * |b[i]|)`; <= 1 means within tolerance.
func worstError(_ a: [Float], _ b: [Double], abs absTolerance: Double, rel relTolerance: Double) -> Double {
    precondition(a.count == b.count)
    var worst = 0.0
    for i in a.indices {
        let e = Swift.abs(Double(a[i]) - b[i]) / (absTolerance + relTolerance * Swift.abs(b[i]))
        if !(e <= worst) { worst = e.isNaN ? .infinity : e }
    }
    return worst
}
