import Histogram

/// Percentiles of one measured quantity over a run, in milliseconds (from an HdrHistogram of
/// nanoseconds: each value within 0.1% of the exact one).
package struct StageSummary: Sendable, Equatable {
    /// The stage's name (`capture_wait`, `mimi_encode`, ..., `output_queue`).
    package var name: String
    /// Values recorded.
    package var count: Int
    package var p50: Double
    package var p90: Double
    package var p99: Double
    package var max: Double
    package var mean: Double

    package init(name: String, count: Int, p50: Double, p90: Double, p99: Double, max: Double, mean: Double) {
        self.name = name
        self.count = count
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.max = max
        self.mean = mean
    }

    /// The summary of `histogram` (nanoseconds), plus `offsetMilliseconds` on every figure;
    /// zeros when it is empty.
    init(name: String, histogram: Histogram<UInt64>, offsetMilliseconds: Double = 0) {
        let count = Int(histogram.totalCount)
        func ms(_ nanoseconds: UInt64) -> Double { count == 0 ? 0 : Double(nanoseconds) / 1e6 + offsetMilliseconds }
        self.init(name: name, count: count,
                  p50: ms(histogram.valueAtPercentile(50)), p90: ms(histogram.valueAtPercentile(90)),
                  p99: ms(histogram.valueAtPercentile(99)), max: ms(histogram.max),
                  mean: count == 0 ? 0 : histogram.mean / 1e6 + offsetMilliseconds)
    }
}
