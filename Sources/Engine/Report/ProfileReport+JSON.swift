import Foundation

extension ProfileReport {
    /// One JSON object (keys sorted): run facts, totals (`frames`, `late_frames`,
    /// `dropped_frames`, `rtf`, ...), latency percentiles (`e2e_ms_p50`, `e2e_ms_p99`, ...,
    /// `measured_ms_*`, `compute_ms_*`) and `stages`: for each stage name an object with `p50`,
    /// `p90`, `p99`, `max`, `mean` (milliseconds) and `count`; `stage_order` lists the names in
    /// pipeline order.
    package func json(prettyPrinted: Bool = true) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = prettyPrinted ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(JSONForm(self))) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private struct JSONStage: Encodable {
        var count: Int, p50: Double, p90: Double, p99: Double, max: Double, mean: Double

        init(_ summary: StageSummary) {
            count = summary.count
            p50 = round3(summary.p50); p90 = round3(summary.p90); p99 = round3(summary.p99)
            max = round3(summary.max); mean = round3(summary.mean)
        }
    }


    private struct JSONAllocations: Encodable {
        var steady_state_from_frame, capture, capture_frames, compute, compute_frames, playback, playback_frames: Int

        init(_ a: AllocationSummary) {
            steady_state_from_frame = a.steadyStateFrom
            capture = a.captureAllocations; capture_frames = a.captureFrames
            compute = a.computeAllocations; compute_frames = a.computeFrames
            playback = a.playbackAllocations; playback_frames = a.playbackFrames
        }
    }

    private struct JSONForm: Encodable {
        var processor, source, sink, pacing, late_policy, realtime_priority, transcript: String
        var deadline_ms: Double
        var frames, processed_frames, late_frames, dropped_frames, dropped_input_frames, dropped_output_frames: Int
        var output_underflows, xruns: Int
        var rtf, wall_seconds, clock_seconds, audio_seconds, algorithmic_latency_ms: Double
        var e2e_ms_p50, e2e_ms_p90, e2e_ms_p99, e2e_ms_max: Double
        var measured_ms_p50, measured_ms_p90, measured_ms_p99, measured_ms_max: Double
        var compute_ms_p50, compute_ms_p90, compute_ms_p99, compute_ms_max: Double
        var stages: [String: JSONStage]
        var stage_order: [String]
        var failures, notes: [String]
        var allocations: JSONAllocations?

        init(_ r: ProfileReport) {
            processor = r.processor; source = r.source; sink = r.sink; pacing = r.pacing
            late_policy = r.latePolicy; realtime_priority = r.realtimePriority; transcript = r.transcript
            deadline_ms = round3(r.deadlineMilliseconds)
            frames = r.frames; processed_frames = r.processedFrames; late_frames = r.lateFrames
            dropped_frames = r.droppedFrames; dropped_input_frames = r.droppedInputFrames; dropped_output_frames = r.droppedOutputFrames
            output_underflows = r.outputUnderflows; xruns = r.xruns
            rtf = (r.rtf * 10_000).rounded() / 10_000
            wall_seconds = round3(r.wallSeconds); clock_seconds = round3(r.clockSeconds); audio_seconds = round3(r.audioSeconds)
            algorithmic_latency_ms = round3(r.algorithmicLatencyMilliseconds)
            e2e_ms_p50 = round3(r.endToEnd.p50); e2e_ms_p90 = round3(r.endToEnd.p90)
            e2e_ms_p99 = round3(r.endToEnd.p99); e2e_ms_max = round3(r.endToEnd.max)
            measured_ms_p50 = round3(r.measuredLatency.p50); measured_ms_p90 = round3(r.measuredLatency.p90)
            measured_ms_p99 = round3(r.measuredLatency.p99); measured_ms_max = round3(r.measuredLatency.max)
            compute_ms_p50 = round3(r.compute.p50); compute_ms_p90 = round3(r.compute.p90)
            compute_ms_p99 = round3(r.compute.p99); compute_ms_max = round3(r.compute.max)
            stages = Dictionary(uniqueKeysWithValues: r.stages.map { ($0.name, JSONStage($0)) })
            stage_order = r.stages.map(\.name)
            failures = r.failures; notes = r.notes
            allocations = r.allocations.map(JSONAllocations.init)
        }
    }
}

/// Milliseconds to the microsecond.
private func round3(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
