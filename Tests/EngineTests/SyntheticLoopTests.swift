import AudioIO
import Foundation
import Testing
@testable import Engine

/// The whole loop with the synthetic model (real Mimi + Moshi-structured LM): WAV in, WAV out,
/// on the virtual clock (faster than real time).
@Suite(.timeLimit(.minutes(2))) struct SyntheticLoopTests {
    @Test func aWAVGoesThroughTheSyntheticModelToAWAVFrameForFrame() throws {
        let directory = TemporaryDirectory()
        let frames = 16
        let n = FrameTiming.samplesPerFrame
        let samples = (0..<(frames * n)).map { 0.3 * Float(sin(Double($0) * 0.031)) * Float(1 + $0 / n % 3) / 3 }
        try AudioFile.write(directory.path("in.wav"), samples: samples, sampleRate: FrameTiming.sampleRate)
        let session = try SyntheticModel.session()
        #expect(session.generator.model.config == .synthetic)
        let clock = VirtualClock()
        let loop = try FrameLoop(source: try SampleBufferSource(file: directory.path("in.wav")), processor: session,
                                 sink: WAVFileSink(path: directory.path("out.wav")),
                                 configuration: .test(), clock: clock, textDecoder: ClosureTextDecoder { "<\($0)>" })
        let wallStart = Date()
        let report = try loop.run()
        let wall = Date().timeIntervalSince(wallStart)
        let output = try WAVFile(contentsOf: directory.path("out.wav"))

        // Count and order: one output frame per input frame; the model is silent for frame 0
        // (its acoustic delay) and answers every frame after it.
        #expect(output.samples.count == frames * n)
        #expect(output.samples.prefix(n).allSatisfy { $0 == 0 })
        for f in 1..<frames {
            #expect(output.samples[(f * n)..<((f + 1) * n)].contains { $0 != 0 }, "frame \(f) has the model's audio")
        }
        // Timing: each frame captured at (k + 1) * 80 ms on the virtual clock, none late or dropped.
        #expect(report.records.count == frames)
        for record in report.records {
            #expect(record.captureTime == UInt64(record.index + 1) * FrameTiming.frameDurationNanoseconds)
            #expect(record.producedAudio == (record.index > 0))
            #expect(!record.isLate && record.outcome == .processed)
            #expect(record.stageNanoseconds.count == 4 && record.stageNanoseconds[0] > 0)
        }
        #expect(report.lateFrames == 0 && report.droppedFrames == 0)
        #expect(report.transcript.split(separator: ">").count == frames - 1, "one text token per answered frame")
        // Faster than real time: 1.28 s of audio on the virtual clock, whatever the CPU took.
        #expect(report.clockSeconds < Double(frames) * 0.08 + 0.01)
        print("synthetic loop: \(frames) frames in \(String(format: "%.2f", wall)) s of wall time")
    }
}
