import Foundation
import Testing
@testable import MoshiNumerics

@Suite struct SamplingTests {
    @Test func xoshiroMatchesTheAlgorithmAndIsSeedable() {
        // First outputs of xoshiro256** seeded through SplitMix64 (computed by an independent Python transcription).
        var zero = Xoshiro256StarStar(seed: 0)
        #expect([zero.next(), zero.next(), zero.next()] == [0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0])
        var a = Xoshiro256StarStar(seed: 42)
        #expect([a.next(), a.next(), a.next()] == [0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1])
        var u = Xoshiro256StarStar(seed: 9)
        for _ in 0..<1000 {
            let v = u.nextUnitDouble()
            #expect(v >= 0 && v < 1)
        }
    }

    @Test func argmaxTakesTheFirstMaximum() {
        #expect(argmax([1, 3, 2, 3], count: 4) == 1)
        #expect(argmax([-.infinity, -.infinity], count: 2) == 0)
        #expect(argmax([.nan, 1, .nan, 2], count: 4) == 3)
        #expect(argmax([.nan], count: 1) == 0)
        #expect(argmax([], count: 0) == 0)
    }

    func draw(_ logits: [Float], temperature: Float, topK: Int, rng: inout Xoshiro256StarStar) -> Int {
        var values = [Float](repeating: 0, count: max(topK, 1))
        var indices = [Int32](repeating: 0, count: max(topK, 1))
        return sampleToken(logits: logits, count: logits.count, temperature: temperature, topK: topK, using: &rng,
                           candidateValues: &values, candidateIndices: &indices)
    }

    @Test func zeroTemperatureIsGreedyAndDrawsNothing() {
        var rng = Xoshiro256StarStar(seed: 1)
        let before = rng
        #expect(draw([0.1, 5, -2, 5], temperature: 0, topK: 2, rng: &rng) == 1)
        #expect(draw([0.1, 5, -2, 7], temperature: -1, topK: 0, rng: &rng) == 3)
        #expect(rng == before)
    }

    @Test func topKNeverLeavesTheTopK() {
        var data = TestData(seed: 70)
        let logits = data.normals(2048, scale: 3)
        let top = Set(logits.indices.sorted { logits[$0] > logits[$1] }.prefix(250))
        var rng = Xoshiro256StarStar(seed: 71)
        var values = [Float](repeating: 0, count: 250), indices = [Int32](repeating: 0, count: 250)
        var seen = Set<Int>()
        for _ in 0..<3000 {
            let token = sampleToken(logits: logits, count: 2048, temperature: 0.8, topK: 250, using: &rng,
                                    candidateValues: &values, candidateIndices: &indices)
            #expect(top.contains(token))
            seen.insert(token)
        }
        #expect(seen.count > 20)
    }

    /// Draws `n` tokens and compares frequencies with softmax(logits / T) restricted to the top k.
    func checkFrequencies(logits: [Float], temperature: Float, topK: Int, seed: UInt64, n: Int = 200_000) {
        let k = topK <= 0 ? logits.count : min(topK, logits.count)
        let kept = Set(logits.indices.sorted { logits[$0] > logits[$1] }.prefix(k))
        let m = Double(logits.max()!)
        let weights = logits.indices.map { kept.contains($0) ? exp((Double(logits[$0]) - m) / Double(temperature)) : 0 }
        let total = weights.reduce(0, +)
        var counts = [Int](repeating: 0, count: logits.count)
        var rng = Xoshiro256StarStar(seed: seed)
        for _ in 0..<n { counts[draw(logits, temperature: temperature, topK: topK, rng: &rng)] += 1 }
        for i in logits.indices {
            let p = weights[i] / total
            let frequency = Double(counts[i]) / Double(n)
            // 5 standard deviations of a binomial frequency (at least 1e-4).
            #expect(abs(frequency - p) <= max(5 * (p * (1 - p) / Double(n)).squareRoot(), 1e-4), "token \(i): \(frequency) vs \(p)")
            if p == 0 { #expect(counts[i] == 0) }
        }
    }

    @Test func frequenciesFollowTheTemperedSoftmaxOfTheTopK() {
        let logits: [Float] = [5, 2, 12, 6, 8, 1, 0, 4].map { $0 / 4 }
        checkFrequencies(logits: logits, temperature: 1.3, topK: 5, seed: 72)
        checkFrequencies(logits: logits, temperature: 0.7, topK: 0, seed: 73)
        checkFrequencies(logits: logits, temperature: 0.8, topK: 100, seed: 74)
    }

    @Test func tiesAtTheThresholdKeepTheLowestIndices() {
        var rng = Xoshiro256StarStar(seed: 75)
        var seen = Set<Int>()
        for _ in 0..<500 { seen.insert(draw([Float](repeating: 1, count: 10), temperature: 1, topK: 3, rng: &rng)) }
        #expect(seen == [0, 1, 2])
    }

    @Test func sameSeedSameSequence() {
        var data = TestData(seed: 76)
        let logits = data.normals(32000, scale: 2)
        func sequence(_ seed: UInt64) -> [Int] {
            var rng = Xoshiro256StarStar(seed: seed)
            return (0..<50).map { _ in draw(logits, temperature: 0.7, topK: 25, rng: &rng) }
        }
        #expect(sequence(5) == sequence(5))
        #expect(sequence(5) != sequence(6))
    }

    @Test func degenerateLogitsStayInRange() {
        var rng = Xoshiro256StarStar(seed: 77)
        #expect(draw([.nan, .nan, .nan], temperature: 1, topK: 2, rng: &rng) == 0)
        #expect(draw([.nan, 1, .nan], temperature: 1, topK: 0, rng: &rng) == 1)
        #expect(draw([-.infinity, -.infinity, 0], temperature: 1, topK: 2, rng: &rng) == 2)
        #expect(draw([1, .infinity, 2], temperature: 1, topK: 2, rng: &rng) == 1)
        #expect(draw([-.infinity, -.infinity], temperature: 1, topK: 0, rng: &rng) == 0)
    }
}
