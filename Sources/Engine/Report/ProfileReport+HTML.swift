import Foundation

extension ProfileReport {
    /// A self-contained HTML page (inline CSS and SVG; no script, no external asset): the run's
    /// facts and totals, a per-frame latency plot (measured latency and compute time per frame
    /// against the deadline, late frames circled, dropped frames marked), the per-frame stage
    /// breakdown stacked, and the stage percentiles as bars and as a table.
    package func html() -> String {
        var page = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <title>moshi profile: \(Self.htmlEscaped(processor))</title>
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; background: #fff; max-width: 1040px; }
        h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
        .facts { color: #555; margin: 0 0 12px; }
        .cards { display: flex; flex-wrap: wrap; gap: 10px; }
        .card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; min-width: 110px; }
        .card b { display: block; font-size: 18px; } .card span { color: #666; font-size: 12px; }
        .bad b { color: #c62828; }
        table { border-collapse: collapse; } td, th { padding: 3px 10px; text-align: right; border-bottom: 1px solid #eee; }
        td:first-child, th:first-child { text-align: left; }
        svg text { font: 11px system-ui, sans-serif; fill: #444; }
        .note { color: #8a6d00; } .failure { color: #c62828; }
        </style></head><body>
        <h1>moshi profile</h1>
        <p class="facts">\(Self.htmlEscaped(processor))<br>source: \(Self.htmlEscaped(source)) → sink: \(Self.htmlEscaped(sink))<br>
        pacing: \(Self.htmlEscaped(pacing)) · late policy: \(Self.htmlEscaped(latePolicy)) · deadline \(Self.format(deadlineMilliseconds, decimals: 1)) ms after capture · real-time priority: \(Self.htmlEscaped(realtimePriority))</p>

        """
        for note in notes { page += "<p class=\"note\">Note: \(Self.htmlEscaped(note))</p>\n" }
        for failure in failures { page += "<p class=\"failure\">Failure: \(Self.htmlEscaped(failure))</p>\n" }
        page += "<div class=\"cards\">\n"
        func card(_ value: String, _ label: String, bad: Bool = false) {
            page += "<div class=\"card\(bad ? " bad" : "")\"><b>\(value)</b><span>\(label)</span></div>\n"
        }
        card("\(frames)", "frames (\(Self.format(audioSeconds, decimals: 1)) s)")
        card("\(lateFrames)", "late frames", bad: lateFrames > 0)
        card("\(droppedFrames)", "dropped frames", bad: droppedFrames > 0)
        card(Self.format(rtf), "real-time factor", bad: rtf >= 1)
        card(Self.format(endToEnd.p50, decimals: 1) + " ms", "end-to-end p50")
        card(Self.format(endToEnd.p99, decimals: 1) + " ms", "end-to-end p99")
        card(Self.format(compute.p50, decimals: 1) + " ms", "compute p50")
        card("\(xruns)", "xruns", bad: xruns > 0)
        page += "</div>\n"

        page += "<h2>Latency per frame</h2>\n"
        page += latencyPlot()
        page += "<h2>Stage breakdown per frame</h2>\n"
        page += stackedStagePlot()
        page += "<h2>Stages</h2>\n"
        page += stageBars()
        page += stageTable()
        if !transcript.isEmpty { page += "<h2>Text</h2>\n<p>\(Self.htmlEscaped(transcript))</p>\n" }
        page += """
        <p class="facts">End-to-end = \(Self.format(algorithmicLatencyMilliseconds, decimals: 0)) ms algorithmic (80 ms frame + 80 ms acoustic delay) + measured (capture → handed to the sink). \
        Wall time \(Self.format(wallSeconds, decimals: 2)) s. See Docs/LATENCY.md for the definitions.</p>
        </body></html>

        """
        return page
    }

    // MARK: Plots

    private static let palette = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037", "#9e9d24"]

    private struct Axes {
        var width = 960.0, height = 300.0, left = 56.0, right = 16.0, top = 14.0, bottom = 34.0
        var xMax: Double, yMax: Double
        var plotWidth: Double { width - left - right }
        var plotHeight: Double { height - top - bottom }
        func x(_ value: Double) -> Double { left + plotWidth * value / max(xMax, 1) }
        func y(_ value: Double) -> Double { top + plotHeight * (1 - min(value, yMax) / max(yMax, 1e-9)) }
    }

    /// A round axis maximum at or above `value`.
    private static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        for step in [1.0, 2.0, 2.5, 5.0, 10.0] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    private func axesSVG(_ axes: Axes, yLabel: String) -> String {
        var svg = ""
        for i in 0...5 {
            let value = axes.yMax * Double(i) / 5
            let y = axes.y(value)
            svg += "<line x1=\"\(f(axes.left))\" y1=\"\(f(y))\" x2=\"\(f(axes.width - axes.right))\" y2=\"\(f(y))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(f(axes.left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(Self.format(value, decimals: value < 10 ? 1 : 0))</text>\n"
        }
        let step = max(1, Self.niceCeiling(axes.xMax / 8))
        for value in stride(from: 0.0, through: axes.xMax, by: step) {
            let x = axes.x(value)
            svg += "<text x=\"\(f(x))\" y=\"\(f(axes.height - axes.bottom + 16))\" text-anchor=\"middle\">\(Int(value))</text>"
        }
        svg += "<line x1=\"\(f(axes.left))\" y1=\"\(f(axes.top))\" x2=\"\(f(axes.left))\" y2=\"\(f(axes.height - axes.bottom))\" stroke=\"#888\"/>"
        svg += "<line x1=\"\(f(axes.left))\" y1=\"\(f(axes.height - axes.bottom))\" x2=\"\(f(axes.width - axes.right))\" y2=\"\(f(axes.height - axes.bottom))\" stroke=\"#888\"/>\n"
        svg += "<text x=\"\(f(axes.left + axes.plotWidth / 2))\" y=\"\(f(axes.height - 4))\" text-anchor=\"middle\">frame</text>"
        svg += "<text x=\"14\" y=\"\(f(axes.top + axes.plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(f(axes.top + axes.plotHeight / 2)))\">\(yLabel)</text>\n"
        return svg
    }

    /// Per-frame measured latency and compute time (ms) with the deadline; at most 2000
    /// columns (the worst frame of each bucket beyond that).
    private func latencyPlot() -> String {
        guard let first = records.first?.index, let last = records.last?.index else { return "<p>No frames.</p>\n" }
        let measured = records.compactMap { r in r.measuredLatency.map { (r.index, Double($0) / 1e6) } }
        let compute = records.compactMap { r in r.compute.map { (r.index, Double($0) / 1e6) } }
        let queued = records.compactMap { r in r.doneTime.map { (r.index, Double($0 &- r.captureTime) / 1e6) } }
        let highest = (measured.map(\.1) + compute.map(\.1) + queued.map(\.1) + [deadlineMilliseconds]).max() ?? 1
        let axes = Axes(xMax: Double(max(last, first + 1)), yMax: Self.niceCeiling(highest * 1.05))
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(axes.width))\" height=\"\(Int(axes.height))\" viewBox=\"0 0 \(Int(axes.width)) \(Int(axes.height))\" role=\"img\" aria-label=\"latency per frame\">\n"
        svg += axesSVG(axes, yLabel: "ms")
        let deadlineY = axes.y(deadlineMilliseconds)
        svg += "<line x1=\"\(f(axes.left))\" y1=\"\(f(deadlineY))\" x2=\"\(f(axes.width - axes.right))\" y2=\"\(f(deadlineY))\" stroke=\"#c62828\" stroke-dasharray=\"6 4\"/>"
        svg += "<text x=\"\(f(axes.width - axes.right - 4))\" y=\"\(f(deadlineY - 4))\" text-anchor=\"end\" style=\"fill:#c62828\">deadline \(Self.format(deadlineMilliseconds, decimals: 0)) ms</text>\n"
        svg += polyline(Self.bucketMax(compute, count: 2000), axes: axes, color: "#2e7d32")
        svg += polyline(Self.bucketMax(measured, count: 2000), axes: axes, color: "#1565c0", dashed: true)
        for record in records where record.isLate {
            guard let done = record.doneTime else { continue }
            svg += "<circle cx=\"\(f(axes.x(Double(record.index))))\" cy=\"\(f(axes.y(Double(done &- record.captureTime) / 1e6)))\" r=\"3.5\" fill=\"none\" stroke=\"#c62828\" stroke-width=\"1.5\"><title>frame \(record.index) late</title></circle>"
        }
        for record in records where record.outcome != .processed || record.outputDropped {
            let x = axes.x(Double(record.index)), y = axes.height - axes.bottom
            svg += "<path d=\"M\(f(x)) \(f(y - 7)) l-3.5 7 h7 z\" fill=\"#757575\"><title>frame \(record.index) dropped</title></path>"
        }
        svg += "\n" + legend([("#1565c0", "measured latency (capture → sink)"), ("#2e7d32", "compute"),
                              ("#c62828", "late frame (queued after the deadline)"), ("#757575", "dropped frame")], axes: axes)
        svg += "</svg>\n"
        return svg
    }

    /// The processor's stages of every frame stacked (ms), averaged per column beyond 2000 frames.
    private func stackedStagePlot() -> String {
        let processed = records.filter { $0.outcome == .processed && !$0.stageNanoseconds.isEmpty }
        guard !processed.isEmpty, !processorStageNames.isEmpty, let first = records.first?.index, let last = records.last?.index else {
            return "<p>No stage times.</p>\n"
        }
        let columns = min(processed.count, 2000)
        let perColumn = Double(processed.count) / Double(columns)
        var sums = [[Double]](repeating: [Double](repeating: 0, count: processorStageNames.count), count: columns)
        var counts = [Int](repeating: 0, count: columns)
        var positions = [Double](repeating: 0, count: columns)
        for (n, record) in processed.enumerated() {
            let column = min(columns - 1, Int(Double(n) / perColumn))
            counts[column] += 1
            positions[column] += Double(record.index)
            for (i, value) in record.stageNanoseconds.prefix(processorStageNames.count).enumerated() { sums[column][i] += Double(value) / 1e6 }
        }
        let totals = (0..<columns).map { c in sums[c].reduce(0, +) / Double(max(1, counts[c])) }
        let axes = Axes(xMax: Double(max(last, first + 1)), yMax: Self.niceCeiling((totals.max() ?? 1) * 1.05))
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(axes.width))\" height=\"\(Int(axes.height))\" viewBox=\"0 0 \(Int(axes.width)) \(Int(axes.height))\" role=\"img\" aria-label=\"stages per frame\">\n"
        svg += axesSVG(axes, yLabel: "ms")
        let barWidth = max(1, axes.plotWidth / Double(columns) * 0.9)
        for c in 0..<columns where counts[c] > 0 {
            let x = axes.x(positions[c] / Double(counts[c])) - barWidth / 2
            var base = 0.0
            for i in processorStageNames.indices {
                let value = sums[c][i] / Double(counts[c])
                let top = axes.y(base + value), bottom = axes.y(base)
                if bottom - top > 0.05 {
                    svg += "<rect x=\"\(f(x))\" y=\"\(f(top))\" width=\"\(f(barWidth))\" height=\"\(f(bottom - top))\" fill=\"\(Self.palette[i % Self.palette.count])\"/>"
                }
                base += value
            }
        }
        svg += "\n" + legend(processorStageNames.enumerated().map { (Self.palette[$0.offset % Self.palette.count], $0.element) }, axes: axes)
        svg += "</svg>\n"
        return svg
    }

    /// Each stage's p50 (solid), p90 and p99 (lighter) and max (tick), on one scale.
    private func stageBars() -> String {
        let rows = stages + [compute]
        let width = 960.0, rowHeight = 24.0, left = 150.0, right = 90.0
        let height = Double(rows.count) * rowHeight + 46
        let scale = Self.niceCeiling(max(rows.map(\.max).max() ?? 1, 0.001))
        func x(_ value: Double) -> Double { left + (width - left - right) * min(value, scale) / scale }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"stage percentiles\">\n"
        for (i, stage) in rows.enumerated() {
            let y = 8 + Double(i) * rowHeight
            let color = color(ofStage: stage.name)
            svg += "<text x=\"\(f(left - 8))\" y=\"\(f(y + 14))\" text-anchor=\"end\">\(Self.htmlEscaped(stage.name == compute.name ? "compute (all)" : stage.name))</text>"
            svg += "<rect x=\"\(f(left))\" y=\"\(f(y + 3))\" width=\"\(f(x(stage.p99) - left))\" height=\"14\" fill=\"\(color)\" opacity=\"0.25\"/>"
            svg += "<rect x=\"\(f(left))\" y=\"\(f(y + 3))\" width=\"\(f(x(stage.p90) - left))\" height=\"14\" fill=\"\(color)\" opacity=\"0.45\"/>"
            svg += "<rect x=\"\(f(left))\" y=\"\(f(y + 3))\" width=\"\(f(x(stage.p50) - left))\" height=\"14\" fill=\"\(color)\"/>"
            svg += "<line x1=\"\(f(x(stage.max)))\" y1=\"\(f(y + 1))\" x2=\"\(f(x(stage.max)))\" y2=\"\(f(y + 19))\" stroke=\"#222\"/>"
            svg += "<text x=\"\(f(width - right + 6))\" y=\"\(f(y + 14))\">\(Self.format(stage.p50, decimals: 2)) ms</text>\n"
        }
        let axisY = 8 + Double(rows.count) * rowHeight + 14
        for i in 0...5 {
            let value = scale * Double(i) / 5
            svg += "<text x=\"\(f(x(value)))\" y=\"\(f(axisY))\" text-anchor=\"middle\">\(Self.format(value, decimals: value < 10 ? 1 : 0))</text>"
        }
        svg += "\n<text x=\"\(f(left))\" y=\"\(f(height - 4))\">ms: solid p50, lighter p90 and p99, tick max</text>\n</svg>\n"
        return svg
    }

    private func stageTable() -> String {
        var table = "<table><tr><th>stage</th><th>frames</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th><th>mean ms</th></tr>\n"
        let rows: [(String, StageSummary)] = stages.map { ($0.name, $0) } + [
            ("compute (all stages)", compute), ("measured (capture → sink)", measuredLatency),
            ("end-to-end (+\(Self.format(algorithmicLatencyMilliseconds, decimals: 0)) ms)", endToEnd),
        ]
        for (name, s) in rows {
            table += "<tr><td>\(Self.htmlEscaped(name))</td><td>\(s.count)</td>"
            table += [s.p50, s.p90, s.p99, s.max, s.mean].map { "<td>\(Self.format($0))</td>" }.joined() + "</tr>\n"
        }
        return table + "</table>\n"
    }

    private func polyline(_ points: [(Int, Double)], axes: Axes, color: String, dashed: Bool = false) -> String {
        guard !points.isEmpty else { return "" }
        let coordinates = points.map { "\(f(axes.x(Double($0.0)))),\(f(axes.y($0.1)))" }.joined(separator: " ")
        let dash = dashed ? " stroke-dasharray=\"4 2\"" : ""
        return "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.4\"\(dash) points=\"\(coordinates)\"/>\n"
    }

    /// A stage's color: the processor's stages as in the stacked plot, the loop's own in grey.
    private func color(ofStage name: String) -> String {
        if let i = processorStageNames.firstIndex(of: name) { return Self.palette[i % Self.palette.count] }
        return name == Self.outputQueueStage ? "#9e9e9e" : name == compute.name ? "#424242" : "#bdbdbd"
    }

    private func legend(_ entries: [(String, String)], axes: Axes) -> String {
        var svg = ""
        var x = axes.left + 8
        for (color, label) in entries {
            svg += "<rect x=\"\(f(x))\" y=\"\(f(axes.top + 2))\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(f(x + 14))\" y=\"\(f(axes.top + 11))\">\(Self.htmlEscaped(label))</text>"
            x += 24 + Double(label.count) * 6
        }
        return svg + "\n"
    }

    /// At most `count` points: the largest value of each run of consecutive points.
    private static func bucketMax(_ points: [(Int, Double)], count: Int) -> [(Int, Double)] {
        guard points.count > count else { return points }
        let size = Int((Double(points.count) / Double(count)).rounded(.up))
        return stride(from: 0, to: points.count, by: size).map { start in
            points[start..<min(points.count, start + size)].max { $0.1 < $1.1 }!
        }
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    static func htmlEscaped(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}
