import Testing
@testable import MoshiNumerics

@Suite struct VectorArithmeticTests {
    @Test func elementwiseHelpersMatchScalarLoops() {
        var data = TestData(seed: 80)
        for count in [0, 1, 7, 8, 9, 100] {
            let x = data.floats(count), y0 = data.floats(count)
            var y = y0
            addInPlace(x, to: &y, count: count)
            #expect(y == zip(y0, x).map { $0 + $1 })
            y = y0
            addScaledInPlace(x, scale: 0.5, to: &y, count: count)
            #expect(y == zip(y0, x).map { $0 + 0.5 * $1 })
            y = y0
            scaleInPlace(&y, by: -3, count: count)
            #expect(y == y0.map { $0 * -3 })
            let d = dotProduct(x, y0, count: count)
            let want = zip(x, y0).map { Double($0) * Double($1) }.reduce(0, +)
            #expect(abs(Double(d) - want) <= 1e-6 * Double(count) + 1e-7)
        }
    }

    @Test func layerScaleAddsPerChannel() {
        var data = TestData(seed: 81)
        let rows = 3, channels = 11
        let x = data.floats(rows * channels), y0 = data.floats(rows * channels), scale = data.floats(channels)
        var y = y0
        addChannelScaledInPlace(x, channelScale: scale, to: &y, rows: rows, channels: channels)
        for i in 0..<(rows * channels) { #expect(y[i] == y0[i] + scale[i % channels] * x[i]) }
    }

    @Test func transposeMovesEveryElementAndRoundTrips() {
        var data = TestData(seed: 82)
        for (rows, columns) in [(1, 1), (2, 512), (37, 70), (64, 33)] {
            let x = data.floats(rows * columns)
            var t = [Float](repeating: .nan, count: rows * columns)
            transpose(x, rows: rows, columns: columns, into: &t)
            for r in 0..<rows { for c in 0..<columns { #expect(t[c * rows + r] == x[r * columns + c]) } }
            var back = [Float](repeating: .nan, count: rows * columns)
            transpose(t, rows: columns, columns: rows, into: &back)
            #expect(back == x)
        }
    }
}
