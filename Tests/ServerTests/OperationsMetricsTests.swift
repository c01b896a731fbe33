import Engine
@testable import Server
import Testing

@Suite("Operations: metrics")
struct OperationsMetricsTests {
    private func text(_ metrics: ServerMetrics) -> String { String(decoding: metrics.exposition(), as: UTF8.self) }

    private func lines(_ metrics: ServerMetrics) -> Set<String> { Set(text(metrics).split(separator: "\n").map(String.init)) }

    @Test func histogramBucketsAreCumulativeWithSecondsSum() {
        let histogram = LatencyHistogram(name: "t_seconds", labels: [("stage", "x")], upperBoundsSeconds: [0.01, 0.05])
        histogram.record(nanoseconds: 5_000_000)    // 5 ms  -> le 0.01
        histogram.record(nanoseconds: 10_000_000)   // 10 ms -> le 0.01 (bounds are inclusive)
        histogram.record(nanoseconds: 20_000_000)   // 20 ms -> le 0.05
        histogram.record(nanoseconds: 2_000_000_000) // 2 s -> +Inf
        let counts: [UInt64] = histogram.cumulativeCounts
        #expect(counts == [2, 3, 4])
        #expect(histogram.count == 4)
        var buffer: [UInt8] = []
        histogram.emit(into: &buffer)
        let rendered = String(decoding: buffer, as: UTF8.self)
        #expect(rendered == """
            t_seconds_bucket{stage="x",le="0.01"} 2
            t_seconds_bucket{stage="x",le="0.05"} 3
            t_seconds_bucket{stage="x",le="+Inf"} 4
            t_seconds_sum{stage="x"} 2.035
            t_seconds_count{stage="x"} 4

            """)
    }

    @Test func countersAndGaugesAppearInTheExposition() {
        let metrics = ServerMetrics()
        metrics.sessionOpened()
        metrics.sessionOpened()
        metrics.sessionClosed()
        metrics.sessionRejected(.busy)
        metrics.sessionRejected(.busy)
        metrics.sessionRejected(.draining)
        metrics.frameProcessed(late: false)
        metrics.frameProcessed(late: true)
        metrics.inputFramesDropped(3)
        metrics.outputFramesDropped()
        metrics.xruns(2)
        metrics.bytesReceived(1_000)
        metrics.bytesSent(250)
        metrics.bytesSent(0)
        let found = lines(metrics)
        #expect(metrics.openSessions == 1)
        for expected in [
            "moshi_sessions_open 1.0", "moshi_sessions_started_total 2",
            #"moshi_sessions_rejected_total{reason="busy"} 2"#, #"moshi_sessions_rejected_total{reason="draining"} 1"#,
            "moshi_frames_processed_total 2", "moshi_frames_late_total 1",
            #"moshi_frames_dropped_total{direction="input"} 3"#, #"moshi_frames_dropped_total{direction="output"} 1"#,
            "moshi_xruns_total 2",
            #"moshi_network_bytes_total{direction="in"} 1000"#, #"moshi_network_bytes_total{direction="out"} 250"#,
            "# TYPE moshi_sessions_open gauge", "# TYPE moshi_frames_processed_total counter",
            "# TYPE moshi_stage_latency_seconds histogram", "# TYPE moshi_frame_latency_seconds histogram",
        ] {
            #expect(found.contains(expected), "missing: \(expected)")
        }
    }

    @Test func everyStageHasASeriesAndEachFamilyOneTypeLine() {
        let metrics = ServerMetrics()
        let rendered = text(metrics)
        for stage in ["mimi_encode", "temporal", "depformer", "mimi_decode", "capture_wait", "output_queue", "network_in", "network_out"] {
            #expect(rendered.contains(#"moshi_stage_latency_seconds_count{stage="\#(stage)"} 0"#), "stage \(stage)")
        }
        let typeLines = rendered.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }
        #expect(typeLines.count == Set(typeLines).count)
        // Every sample line is `name{labels} value` or `name value` with a numeric value.
        for line in rendered.split(separator: "\n") where !line.hasPrefix("#") {
            let value = line.split(separator: " ").last.map(String.init) ?? ""
            #expect(Double(value) != nil, "not a sample: \(line)")
        }
    }

    @Test func processorStagesAreRecordedInOrder() {
        let metrics = ServerMetrics()
        let times: [UInt64] = [1_000_000, 30_000_000, 7_000_000, 2_000_000]
        times.withUnsafeBufferPointer { metrics.recordProcessorStages($0.baseAddress!) }
        let temporal = metrics.stage(named: "temporal")
        let depformer = metrics.stage(named: "depformer")
        #expect(temporal?.sumNanoseconds == 30_000_000)
        #expect(depformer?.sumNanoseconds == 7_000_000)
        #expect(metrics.stage(named: "nonexistent") == nil)
        #expect(metrics.networkIn === metrics.stage(named: "network_in"))
    }

    @Test func frameRecordFeedsCountersAndHistograms() {
        let metrics = ServerMetrics()
        let processed = FrameRecord(index: 0, outcome: .processed, captureTime: 100, startTime: 4_000_100,
                                    doneTime: 50_000_100, deliveredTime: 60_000_100,
                                    stageNanoseconds: [1, 2, 3, 4], producedAudio: true, isLate: true)
        metrics.record(processed)
        metrics.record(FrameRecord(index: 1, outcome: .lostAtCapture, captureTime: 0))
        metrics.record(FrameRecord(index: 2, outcome: .processed, captureTime: 0, startTime: 0, doneTime: 1,
                                   stageNanoseconds: [0, 0, 0, 0], outputDropped: true))
        let found = lines(metrics)
        #expect(found.contains("moshi_frames_processed_total 2"))
        #expect(found.contains("moshi_frames_late_total 1"))
        #expect(found.contains(#"moshi_frames_dropped_total{direction="input"} 1"#))
        #expect(found.contains(#"moshi_frames_dropped_total{direction="output"} 1"#))
        #expect(metrics.captureWait.sumNanoseconds == 4_000_000 + 0)
        #expect(metrics.outputQueue.sumNanoseconds == 10_000_000)
        #expect(metrics.frameLatency.sumNanoseconds == 60_000_000)
        #expect(metrics.frameLatency.count == 1)
        var before = FrameLoopStatus()
        before.xruns = 1
        var after = FrameLoopStatus()
        after.xruns = 4
        metrics.recordStatus(from: before, to: after)
        #expect(lines(metrics).contains("moshi_xruns_total 3"))
    }

    @Test func labelValuesAndSecondsAreFormatted() {
        #expect(PrometheusText.escapeLabelValue("a\"b\\c\nd") == #"a\"b\\c\nd"#)
        #expect(PrometheusText.formatSeconds(nanoseconds: 0) == "0")
        #expect(PrometheusText.formatSeconds(nanoseconds: 1_500_000_000) == "1.5")
        #expect(PrometheusText.formatSeconds(nanoseconds: 80_000_001) == "0.080000001")
        #expect(PrometheusText.formatBound(1) == "1")
        #expect(PrometheusText.formatBound(0.08) == "0.08")
    }
}
