import AudioIO
import Foundation
import Testing
@testable import Engine

/// The frame loop end to end on the virtual clock: WAV in, a one-frame-delay processor, WAV
/// out, faster than real time, with exact frame timing.
@Suite(.timeLimit(.minutes(1))) struct FrameLoopTests {
    /// Runs `frames` marked frames from a WAV file through a `DelayProcessor` to a WAV file.
    static func runFromWAV(frames: Int, policy: LatePolicy = .default, pacing: FrameLoopConfiguration.Pacing = .realTime,
                           cost: @escaping (Int) -> UInt64 = { _ in 10 * ms }) throws -> (report: ProfileReport, output: [Float], events: [FrameLoopEvent]) {
        let directory = TemporaryDirectory()
        try MarkedFrames.writeWAV(frames: frames, to: directory.path("in.wav"))
        let clock = VirtualClock()
        let loop = try FrameLoop(source: try SampleBufferSource(file: directory.path("in.wav")),
                                 processor: DelayProcessor(clock: clock, tokenEvery: 4, cost: cost),
                                 sink: WAVFileSink(path: directory.path("out.wav")),
                                 configuration: .test(policy, pacing: pacing), clock: clock,
                                 textDecoder: ClosureTextDecoder { "<\($0)>" })
        var events: [FrameLoopEvent] = []
        let report = try loop.run { events.append($0) }
        let output = try WAVFile(contentsOf: directory.path("out.wav"))
        #expect(output.sampleRate == 24000 && output.channelCount == 1)
        return (report, output.samples, events)
    }

    @Test func outputFramesLineUpWithInputFramesOneFrameLate() throws {
        let frames = 25
        let wallStart = Date()
        let (report, output, events) = try Self.runFromWAV(frames: frames)
        let wall = Date().timeIntervalSince(wallStart)

        // Count: one output frame per input frame. Order: slot k carries input frame k - 1.
        #expect(output.count == frames * FrameTiming.samplesPerFrame)
        let markers = (0..<frames).map { MarkedFrames.marker(in: output, slot: $0) }
        #expect(markers == [-1] + (0..<(frames - 1)).map { Optional($0) })

        // Timing on the virtual clock: frame k complete at (k + 1) * 80 ms, computed at once in 10 ms,
        // handed to the sink as soon as done.
        #expect(report.records.count == frames)
        for record in report.records {
            let capture = UInt64(record.index + 1) * period
            #expect(record.captureTime == capture)
            #expect(record.startTime == capture)
            #expect(record.doneTime == capture + 10 * ms)
            #expect(record.deliveredTime == capture + 10 * ms)
            #expect(record.stageNanoseconds == [2_500_000, 7_500_000])
            #expect(record.producedAudio == (record.index > 0))
            #expect(!record.isLate && record.outcome == .processed)
        }
        #expect(report.frames == frames && report.processedFrames == frames)
        #expect(report.lateFrames == 0 && report.droppedFrames == 0 && report.outputUnderflows == 0)
        #expect(abs(report.rtf - 0.125) < 0.001)
        #expect(abs(report.measuredLatency.p50 - 10) < 0.01 && report.measuredLatency.count == frames - 1)
        #expect(abs(report.endToEnd.p50 - 170) < 0.01 && abs(report.endToEnd.p99 - 170) < 0.01)
        // Faster than real time: 2 s of audio on the virtual clock.
        #expect(abs(report.clockSeconds - (Double(frames) * 0.08 + 0.01)) < 1e-6)
        #expect(wall < 1.5)

        // Events: every frame record in order, text from tokens 0, 4, 8, ..., a final status.
        let recordIndices = events.compactMap { if case .frame(let r) = $0 { r.index } else { nil } }
        #expect(recordIndices == Array(0..<frames))
        let texts = events.compactMap { if case .text(let text, let frame) = $0 { "\(frame):\(text)" } else { nil } }
        #expect(texts == stride(from: 0, to: frames, by: 4).map { "\($0):<\($0)>" })
        #expect(report.transcript == stride(from: 0, to: frames, by: 4).map { "<\($0)>" }.joined())
        guard case .status(let last) = events.last else {
            Issue.record("no final status")
            return
        }
        #expect(last.capturedFrames == frames && last.processedFrames == frames && abs(last.lastLatencyMilliseconds - 10) < 0.01)
    }

    /// Frame 5 takes 3.5 frame periods (280 ms): frames 6, 7, 8 pile up behind it.
    static func slowFifth(_ call: Int) -> UInt64 { call == 5 ? 280 * ms : 10 * ms }

    @Test func dropOldestDropsTheBacklogBeyondTwoFramesAndCountsLateFrames() throws {
        let (report, output, _) = try Self.runFromWAV(frames: 20, policy: .dropOldest(maxQueued: 2), cost: Self.slowFifth)
        // Frame 5 ends at 760 ms (deadline 560); 6, 7, 8 wait; 6 is dropped; 7 ends at 770 (deadline 720):
        // late; 8 ends at 780 (deadline 800): on time.
        #expect(report.lateFrames == 2)
        #expect(report.droppedInputFrames == 1 && report.droppedOutputFrames == 0)
        #expect(report.processedFrames == 19)
        let late = report.records.filter(\.isLate).map(\.index)
        #expect(late == [5, 7])
        let dropped = report.records.filter { $0.outcome == .droppedByPolicy }.map(\.index)
        #expect(dropped == [6])
        let seven = report.records[7]
        #expect(seven.captureWait == 120 * ms && seven.doneTime == 770 * ms)
        // The output keeps its frame slots: slot 6 is silence, slot 7 carries frame 5 (the processor's
        // previous input), slot 8 frame 7.
        let markers = (0..<20).map { MarkedFrames.marker(in: output, slot: $0) }
        #expect(markers[5] == 4 && markers[6] == -1 && markers[7] == 5 && markers[8] == 7 && markers[9] == 8)
        #expect(output.count == 20 * FrameTiming.samplesPerFrame)
    }

    @Test func growLatencyKeepsEveryFrameWithinItsBound() throws {
        let (report, output, _) = try Self.runFromWAV(frames: 20, policy: .growLatency(maxFrames: 4), cost: Self.slowFifth)
        #expect(report.droppedFrames == 0 && report.processedFrames == 20)
        #expect(report.records.filter(\.isLate).map(\.index) == [5, 6, 7])
        let markers = (0..<20).map { MarkedFrames.marker(in: output, slot: $0) }
        #expect(markers == [-1] + (0..<19).map { Optional($0) })
    }

    @Test func growLatencyPastItsBoundCutsBackToTheNewestFrame() throws {
        let (report, _, _) = try Self.runFromWAV(frames: 20, policy: .growLatency(maxFrames: 2), cost: Self.slowFifth)
        #expect(report.records.filter { $0.outcome == .droppedByPolicy }.map(\.index) == [6, 7])
        #expect(report.records.filter(\.isLate).map(\.index) == [5])
        #expect(report.droppedInputFrames == 2 && report.lateFrames == 1)
    }

    @Test func asFastAsPossibleDropsNothingAndCountsSlowFramesAsLate() throws {
        let (report, output, _) = try Self.runFromWAV(frames: 12, pacing: .asFastAsPossible, cost: Self.slowFifth)
        #expect(report.droppedFrames == 0 && report.processedFrames == 12)
        #expect(report.records.filter(\.isLate).map(\.index) == [5])
        // No pacing: the clock moves only by the compute time, 11 x 10 ms + 280 ms.
        #expect(abs(report.clockSeconds - 0.39) < 1e-6)
        #expect(report.records.allSatisfy { $0.captureWait == 0 })
        let markers = (0..<12).map { MarkedFrames.marker(in: output, slot: $0) }
        #expect(markers == [-1] + (0..<11).map { Optional($0) })
    }

    @Test func aDevicePacedSinkGetsAContinuousStreamAndTheLatePolicy() throws {
        let clock = VirtualClock()
        let sink = VirtualDeviceSink(clock: clock)
        let loop = try FrameLoop(source: SampleBufferSource(samples: MarkedFrames.samples(frames: 20)),
                                 processor: DelayProcessor(clock: clock, cost: Self.slowFifth), sink: sink,
                                 configuration: .test(.dropOldest(maxQueued: 2)), clock: clock)
        let report = try loop.run()
        // The device plays silence until frame 0's successor has audio, then one frame per period. During
        // frame 5's 280 ms three periods find nothing (underflows); then outputs 5, 7, 8 wait and the oldest,
        // 5, is dropped to keep two.
        #expect(report.outputUnderflows == 3)
        #expect(report.droppedOutputFrames == 1 && report.droppedInputFrames == 1)
        #expect(report.records.filter(\.outputDropped).map(\.index) == [5])
        let markers = (0..<(sink.written.count / FrameTiming.samplesPerFrame)).map { MarkedFrames.marker(in: sink.written, slot: $0) }
        let played = markers.compactMap { $0 }.filter { $0 >= 0 }
        // Input frames 0...4 reach the speaker, 5 (dropped with frame 6's output slot... frame 7's output
        // carries input 5) and so on: never out of order.
        #expect(played == played.sorted() && Set(played).count == played.count)
        #expect(played.first == 0 && played.last == 18)
        // Writes happen once per period after the two-frame device buffer filled.
        let gaps = zip(sink.writeTimes.dropFirst(3), sink.writeTimes.dropFirst(2)).map { $0 - $1 }
        #expect(gaps.allSatisfy { $0 == period })
    }

    @Test func requestStopEndsAnEndlessSourceCleanly() throws {
        let clock = VirtualClock()
        let sink = MemorySink()
        let loop = try FrameLoop(source: SyntheticSource(.tone(frequency: 440, amplitude: 0.5)),
                                 processor: DelayProcessor(clock: clock), sink: sink, configuration: .test(), clock: clock)
        var stopped = false
        let report = try loop.run { event in
            if case .frame(let record) = event, record.index >= 10, !stopped {
                stopped = true
                loop.requestStop()
            }
        }
        #expect(stopped && loop.isStopRequested)
        #expect(report.frames >= 11 && report.processedFrames == report.frames)
        #expect(sink.framesWritten == report.frames)
        #expect(report.failures.isEmpty)
    }

    @Test func maxFramesBoundsTheRunAndRepeatingSourcesLoop() throws {
        let clock = VirtualClock()
        var configuration = FrameLoopConfiguration.test()
        configuration.maxFrames = 7
        let sink = MemorySink()
        let source = SampleBufferSource(samples: MarkedFrames.samples(frames: 3), repeats: true)
        let loop = try FrameLoop(source: source, processor: DelayProcessor(clock: clock), sink: sink, configuration: configuration, clock: clock)
        let report = try loop.run()
        #expect(report.frames == 7)
        let markers = (0..<7).map { MarkedFrames.marker(in: sink.samples, slot: $0) }
        #expect(markers == [-1, 0, 1, 2, 0, 1, 2])
    }

    @Test func aSinkFailureEndsTheLoopAndIsReported() throws {
        let clock = VirtualClock()
        let loop = try FrameLoop(source: SyntheticSource(.silence), processor: DelayProcessor(clock: clock),
                                 sink: FailingSink(failAt: 5), configuration: .test(), clock: clock)
        let report = try loop.run()
        #expect(report.failures == ["failing sink: failing sink: disk full"])
        #expect(report.frames >= 5 && report.frames < 100)
    }

    @Test func warmUpRunsSilenceThroughTheProcessorAndResetsIt() throws {
        let clock = VirtualClock()
        let processor = DelayProcessor(clock: nil)
        var configuration = FrameLoopConfiguration.test()
        configuration.warmupFrames = 3
        let sink = MemorySink()
        let loop = try FrameLoop(source: SampleBufferSource(samples: MarkedFrames.samples(frames: 4)), processor: processor,
                                 sink: sink, configuration: configuration, clock: clock)
        let report = try loop.run()
        #expect(processor.calls == 4)  // reset after warm-up, then one call per frame
        #expect(report.records.first?.producedAudio == false)
        #expect((0..<4).map { MarkedFrames.marker(in: sink.samples, slot: $0) } == [-1, 0, 1, 2])
    }

    @Test func badConfigurationsAreRefused() throws {
        let processor = DelayProcessor(clock: nil)
        var configuration = FrameLoopConfiguration.test(.dropOldest(maxQueued: 40))
        #expect(throws: FrameLoopError.self) {
            _ = try FrameLoop(source: SyntheticSource(), processor: processor, sink: NullSink(), configuration: configuration)
        }
        configuration = .test()
        configuration.queueCapacity = 1
        #expect(throws: FrameLoopError.self) {
            _ = try FrameLoop(source: SyntheticSource(), processor: processor, sink: NullSink(), configuration: configuration)
        }
        let loop = try FrameLoop(source: SyntheticSource(frames: 2), processor: processor, sink: NullSink(), configuration: .test(), clock: VirtualClock())
        _ = try loop.run()
        #expect(throws: FrameLoopError.alreadyRun) { _ = try loop.run() }
    }
}
