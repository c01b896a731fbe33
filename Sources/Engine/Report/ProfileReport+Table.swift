import Foundation

extension ProfileReport {
    /// The terminal table: a header of run facts and totals, then one row per stage with
    /// p50, p90, p99 and max in milliseconds, then compute, measured and end-to-end latency.
    package func table() -> String {
        var lines: [String] = []
        lines.append("processor: \(processor)")
        lines.append("source: \(source) → sink: \(sink)")
        lines.append("pacing: \(pacing), late policy: \(latePolicy), deadline \(Self.format(deadlineMilliseconds)) ms after capture, real-time priority: \(realtimePriority)")
        for note in notes { lines.append("note: \(note)") }
        lines.append("")
        let nameWidth = max(28, (stages.map(\.name.count).max() ?? 0) + 2)
        func row(_ name: String, _ values: [String]) -> String {
            name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + values.map { $0.leftPadded(to: 9) }.joined(separator: " ")
        }
        func summaryRow(_ summary: StageSummary, as name: String? = nil) -> String {
            row(name ?? summary.name, [summary.p50, summary.p90, summary.p99, summary.max].map { Self.format($0) })
        }
        lines.append(row("stage (ms)", ["p50", "p90", "p99", "max"]))
        lines.append(String(repeating: "─", count: nameWidth + 4 * 10 - 1))
        for stage in stages { lines.append(summaryRow(stage)) }
        lines.append(String(repeating: "─", count: nameWidth + 4 * 10 - 1))
        lines.append(summaryRow(compute, as: "compute (all stages)"))
        lines.append(summaryRow(measuredLatency, as: "measured (capture → sink)"))
        lines.append(summaryRow(endToEnd, as: "end-to-end (+\(Self.format(algorithmicLatencyMilliseconds, decimals: 0)) ms model)"))
        lines.append("")
        lines.append("frames \(frames) (\(Self.format(audioSeconds, decimals: 2)) s of audio), processed \(processedFrames), late \(lateFrames), "
                     + "dropped \(droppedFrames) (input \(droppedInputFrames), output \(droppedOutputFrames)), underflows \(outputUnderflows), xruns \(xruns)")
        lines.append("real-time factor \(Self.format(rtf)) (compute / audio time), wall \(Self.format(wallSeconds, decimals: 2)) s")
        if let a = allocations {
            lines.append("heap allocations from frame \(a.steadyStateFrom) on: capture \(a.captureAllocations) in \(a.captureFrames) frames, "
                         + "compute \(a.computeAllocations) in \(a.computeFrames), playback \(a.playbackAllocations) in \(a.playbackFrames)")
        }
        if !transcript.isEmpty {
            let shown = transcript.count > 300 ? "…" + transcript.suffix(300) : Substring(transcript)
            lines.append("text: \(shown.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        for failure in failures { lines.append("failure: \(failure)") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func format(_ value: Double, decimals: Int = 3) -> String {
        String(format: "%.\(decimals)f", value)
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
