/// The report of a finished run.
extension FrameLoop {
    func makeReport(status: FrameLoopStatus, transcript: String, wallSeconds: Double, clockNanoseconds: UInt64) -> ProfileReport {
        let period = Double(FrameTiming.frameDurationNanoseconds)
        let algorithmic = 2 * period / 1e6
        var stages = [StageSummary(name: ProfileReport.captureWaitStage, histogram: stats.captureWait)]
        for (name, histogram) in zip(stats.stageNames, stats.stages) { stages.append(StageSummary(name: name, histogram: histogram)) }
        stages.append(StageSummary(name: ProfileReport.outputQueueStage, histogram: stats.outputQueue))

        let completed = counters.completed.load(ordering: .acquiring)
        let first = max(0, completed - stats.capacity)
        let records = (first..<completed).compactMap { stats.record($0) }
        let processed = status.processedFrames
        let rtf = processed == 0 ? 0 : Double(stats.computeTotalNanoseconds) / (Double(processed) * period)
        let priority: String
        if !configuration.realtimePriority {
            priority = "not requested"
        } else if let refusal = realtimeRefusal.withLock({ $0 }) {
            priority = "refused: \(refusal)"
        } else {
            priority = configuration.computeRealtimePriority ? "granted" : "granted (capture, playback)"
        }
        return ProfileReport(
            processor: processorDescription, source: source.description, sink: sink.description,
            pacing: configuration.pacing.rawValue, latePolicy: configuration.latePolicy.description,
            deadlineMilliseconds: (period + Double(configuration.deadlineSlackNanoseconds)) / 1e6,
            frames: status.capturedFrames, processedFrames: processed, lateFrames: status.lateFrames,
            droppedInputFrames: status.droppedInputFrames, droppedOutputFrames: status.droppedOutputFrames,
            outputUnderflows: status.outputUnderflows, xruns: status.xruns, rtf: rtf,
            wallSeconds: wallSeconds, clockSeconds: Double(clockNanoseconds) / 1e9,
            algorithmicLatencyMilliseconds: algorithmic,
            measuredLatency: StageSummary(name: "measured", histogram: stats.measured),
            endToEnd: StageSummary(name: "end_to_end", histogram: stats.measured, offsetMilliseconds: algorithmic),
            compute: StageSummary(name: "compute", histogram: stats.compute),
            stages: stages, processorStageNames: stats.stageNames, records: records, transcript: transcript,
            failures: failures.withLock { $0 }, notes: [], realtimePriority: priority,
            allocations: allocationCounter.summary())
    }
}
