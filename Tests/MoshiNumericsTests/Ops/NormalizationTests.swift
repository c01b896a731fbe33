import Foundation
import Testing
@testable import MoshiNumerics

@Suite struct RMSNormTests {
    func rms(_ x: [Float], alpha: [Float], eps: Float, rows: Int) -> [Float] {
        var y = [Float](repeating: .nan, count: x.count)
        x.withUnsafeBufferPointer { xp in alpha.withUnsafeBufferPointer { ap in y.withUnsafeMutableBufferPointer {
            rmsNorm(xp.baseAddress!, alpha: ap.baseAddress!, eps: eps, rows: rows, channels: alpha.count, into: $0.baseAddress!)
        } } }
        return y
    }

    @Test func normalisesAKnownVectorByHand() {
        // mean(x^2) = (1 + 4 + 9 + 16) / 4 = 7.5; 1 / sqrt(7.5) = 0.3651483716701107.
        let y = rms([1, 2, 3, 4], alpha: [1, 1, 1, 1], eps: 1e-8, rows: 1)
        let want = [1.0, 2, 3, 4].map { $0 * 0.3651483716701107 }
        #expect(worstError(y, want, abs: 0, rel: 2e-7) <= 1)
        // alpha multiplies per channel.
        let y2 = rms([1, 2, 3, 4], alpha: [2, 0.5, -1, 0], eps: 1e-8, rows: 1)
        #expect(worstError(y2, [2 * want[0], 0.5 * want[1], -want[2], 0], abs: 1e-12, rel: 2e-7) <= 1)
    }

    @Test func epsIsAddedToTheMeanInsideTheSquareRoot() {
        // x = 1e-4 everywhere: mean(x^2) = 1e-8 = eps, so y = 1e-4 / sqrt(2e-8) = 1/sqrt(2).
        let y = rms([Float](repeating: 1e-4, count: 6), alpha: [Float](repeating: 1, count: 6), eps: 1e-8, rows: 1)
        #expect(worstError(y, [Double](repeating: 0.7071067811865476, count: 6), abs: 0, rel: 1e-6) <= 1)
        // All zeros stay zeros (no 0/0).
        #expect(rms([0, 0, 0], alpha: [1, 1, 1], eps: 1e-8, rows: 1) == [0, 0, 0])
    }

    @Test func matchesDoubleOnRandomRowsAndRunsInPlace() {
        var data = TestData(seed: 10)
        for channels in [1, 7, 64, 300, 4096] {
            let rows = 3
            let x = data.normals(rows * channels, scale: 3)
            let alpha = data.floats(channels, 0.5, 1.5)
            let y = rms(x, alpha: alpha, eps: 1e-5, rows: rows)
            var want = [Double]()
            for r in 0..<rows {
                let row = x[(r * channels)..<((r + 1) * channels)].map(Double.init)
                let inv = 1 / (1e-5 + row.map { $0 * $0 }.reduce(0, +) / Double(channels)).squareRoot()
                for c in 0..<channels { want.append(row[c] * Double(alpha[c]) * inv) }
            }
            #expect(worstError(y, want, abs: 1e-7, rel: 5e-7) <= 1, "channels \(channels)")
            var inPlace = x
            inPlace.withUnsafeMutableBufferPointer { xp in alpha.withUnsafeBufferPointer {
                rmsNorm(UnsafePointer(xp.baseAddress!), alpha: $0.baseAddress!, eps: 1e-5, rows: rows, channels: channels, into: xp.baseAddress!)
            } }
            #expect(inPlace == y)
        }
    }
}

@Suite struct LayerNormTests {
    func ln(_ x: [Float], weight: [Float], bias: [Float], rows: Int) -> [Float] {
        var y = [Float](repeating: .nan, count: x.count)
        x.withUnsafeBufferPointer { xp in weight.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in
            y.withUnsafeMutableBufferPointer {
                layerNorm(xp.baseAddress!, weight: wp.baseAddress!, bias: bp.baseAddress!, eps: 1e-5,
                          rows: rows, channels: weight.count, into: $0.baseAddress!)
            }
        } } }
        return y
    }

    @Test func normalisesAKnownVectorByHand() {
        // mean 2.5, biased variance 1.25, rstd = 1 / sqrt(1.25 + 1e-5).
        let rstd = 1 / (1.25 + 1e-5).squareRoot()
        let y = ln([1, 2, 3, 4], weight: [1, 2, 1, 1], bias: [0, 0, 1, -1], rows: 1)
        let want = [-1.5 * rstd, 2 * -0.5 * rstd, 0.5 * rstd + 1, 1.5 * rstd - 1]
        #expect(worstError(y, want, abs: 1e-7, rel: 3e-7) <= 1)
    }

    @Test func matchesDoubleOnRandomRows() {
        var data = TestData(seed: 11)
        for channels in [2, 9, 512, 1000] {
            let rows = 4
            let x = data.normals(rows * channels, scale: 2).map { $0 + 0.5 }
            let w = data.floats(channels, 0.5, 1.5), b = data.floats(channels, -0.2, 0.2)
            let y = ln(x, weight: w, bias: b, rows: rows)
            var want = [Double]()
            for r in 0..<rows {
                let row = x[(r * channels)..<((r + 1) * channels)].map(Double.init)
                let mean = row.reduce(0, +) / Double(channels)
                let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(channels)
                let rstd = 1 / (variance + 1e-5).squareRoot()
                for c in 0..<channels { want.append((row[c] - mean) * rstd * Double(w[c]) + Double(b[c])) }
            }
            #expect(worstError(y, want, abs: 2e-6, rel: 1e-6) <= 1, "channels \(channels)")
        }
    }
}
