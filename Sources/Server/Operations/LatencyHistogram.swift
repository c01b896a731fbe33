import Synchronization

/// A Prometheus histogram of durations whose `record` is lock-free and allocation-free, so the
/// compute thread may call it once per frame (swift-prometheus' own histogram takes a lock and
/// may copy its buckets while a scrape reads them).
///
/// Buckets are kept non-cumulative (one atomic per bucket, plus one for `+Inf`) and summed when
/// rendered. Reads during concurrent writes may be off by the writes in flight; each counter is
/// exact on its own.
package final class LatencyHistogram: Sendable {
    /// One atomic counter, boxed so that an array of them can be shared.
    private final class Cell: Sendable {
        let value = Atomic<UInt64>(0)
    }

    /// The metric family name, e.g. `moshi_stage_latency_seconds`.
    package let name: String
    /// The label pairs of this series (rendered in this order).
    package let labels: [(String, String)]
    /// Upper bounds of the finite buckets, nanoseconds, increasing.
    package let upperBoundsNanoseconds: [UInt64]
    private let cells: [Cell]         // upperBoundsNanoseconds.count + 1 (the last is +Inf)
    private let sum = Cell()          // nanoseconds
    private let bucketPrefixes: [[UInt8]]  // `name_bucket{labels,le="x"} `, prerendered
    private let sumPrefix: [UInt8]
    private let countPrefix: [UInt8]

    /// Creates a series. `upperBoundsSeconds` must be increasing and positive.
    package init(name: String, labels: [(String, String)] = [], upperBoundsSeconds: [Double]) {
        precondition(!upperBoundsSeconds.isEmpty && zip(upperBoundsSeconds, upperBoundsSeconds.dropFirst()).allSatisfy { $0 < $1 },
                     "histogram bounds must be increasing")
        self.name = name
        self.labels = labels
        self.upperBoundsNanoseconds = upperBoundsSeconds.map { UInt64(($0 * 1e9).rounded()) }
        self.cells = (0...upperBoundsSeconds.count).map { _ in Cell() }
        let labelText = labels.map { "\($0.0)=\"\(PrometheusText.escapeLabelValue($0.1))\"" }.joined(separator: ",")
        let bucketLabelStart = labelText.isEmpty ? "{" : "{\(labelText),"
        self.bucketPrefixes = (upperBoundsSeconds.map { PrometheusText.formatBound($0) } + ["+Inf"]).map {
            Array("\(name)_bucket\(bucketLabelStart)le=\"\($0)\"} ".utf8)
        }
        let seriesLabels = labelText.isEmpty ? "" : "{\(labelText)}"
        self.sumPrefix = Array("\(name)_sum\(seriesLabels) ".utf8)
        self.countPrefix = Array("\(name)_count\(seriesLabels) ".utf8)
    }

    /// Records one duration. Hot-path safe: a linear scan of the bounds and two relaxed atomic adds.
    @inline(__always)
    package func record(nanoseconds: UInt64) {
        var index = 0
        let bounds = upperBoundsNanoseconds
        while index < bounds.count && nanoseconds > bounds[index] { index += 1 }
        cells[index].value.wrappingAdd(1, ordering: .relaxed)
        sum.value.wrappingAdd(nanoseconds, ordering: .relaxed)
    }

    /// Observations so far.
    package var count: UInt64 {
        var total: UInt64 = 0
        for cell in cells { total &+= cell.value.load(ordering: .relaxed) }
        return total
    }

    /// Sum of the observations, nanoseconds.
    package var sumNanoseconds: UInt64 { sum.value.load(ordering: .relaxed) }

    /// Cumulative counts per bucket (the last is `+Inf`), as Prometheus reports them.
    package var cumulativeCounts: [UInt64] {
        var running: UInt64 = 0
        return cells.map { cell in
            running &+= cell.value.load(ordering: .relaxed)
            return running
        }
    }

    /// Appends this series' sample lines (buckets, `_sum` in seconds, `_count`) in Prometheus text format.
    /// Not for the hot path (formats numbers).
    package func emit(into buffer: inout [UInt8]) {
        let cumulative = cumulativeCounts
        for (prefix, value) in zip(bucketPrefixes, cumulative) {
            buffer.append(contentsOf: prefix)
            buffer.append(contentsOf: String(value).utf8)
            buffer.append(UInt8(ascii: "\n"))
        }
        buffer.append(contentsOf: sumPrefix)
        buffer.append(contentsOf: PrometheusText.formatSeconds(nanoseconds: sumNanoseconds).utf8)
        buffer.append(UInt8(ascii: "\n"))
        buffer.append(contentsOf: countPrefix)
        buffer.append(contentsOf: String(cumulative.last ?? 0).utf8)
        buffer.append(UInt8(ascii: "\n"))
    }
}
