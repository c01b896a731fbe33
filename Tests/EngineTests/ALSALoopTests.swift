import AudioIO
import Foundation
import Testing
@testable import Engine

/// The loop over ALSA devices with no sound card: `file` plugin PCMs over the `null` PCM,
/// defined in a configuration opened with `snd_pcm_open_lconf`. These plugins deliver and take
/// frames at once, so the loop paces them on its (virtual) clock.
@Suite(.timeLimit(.minutes(1))) struct ALSALoopTests {
    static func configuration(input: String, output: String) throws -> ALSAConfiguration {
        try ALSAConfiguration(text: """
            pcm.moshi_mic { type file slave.pcm { type null } file "/dev/null" infile "\(input)" format raw }
            pcm.moshi_speaker { type file slave.pcm { type null } file "\(output)" format raw }
            """)
    }

    @Test func framesGoFromAnALSAMicrophoneThroughTheProcessorToAnALSASpeaker() throws {
        let directory = TemporaryDirectory()
        let frames = 10
        let marked = MarkedFrames.samples(frames: frames).map { Int16($0 * 32768) }
        try marked.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: directory.path("in.raw")))
        let alsa = try Self.configuration(input: directory.path("in.raw"), output: directory.path("out.raw"))
        let clock = VirtualClock()
        var configuration = FrameLoopConfiguration.test()
        configuration.maxFrames = frames  // the file plugin goes on with silence after its file
        do {
            let source = try ALSACaptureSource(name: "moshi_mic", alsaConfiguration: alsa, devicePaced: false)
            let sink = try ALSAPlaybackSink(name: "moshi_speaker", alsaConfiguration: alsa, devicePaced: false)
            #expect(source.description.hasPrefix("ALSA capture moshi_mic") && sink.description.hasPrefix("ALSA playback moshi_speaker"))
            let loop = try FrameLoop(source: source, processor: DelayProcessor(clock: clock), sink: sink, configuration: configuration, clock: clock)
            let report = try loop.run()
            #expect(report.frames == frames && report.lateFrames == 0 && report.droppedFrames == 0)
            #expect(report.xruns == 0 && report.failures.isEmpty)
            #expect(report.records.map(\.captureTime) == (1...frames).map { UInt64($0) * period })
        }
        let played = try Data(contentsOf: URL(fileURLWithPath: directory.path("out.raw")))
            .withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }.map { Float($0) / 32768 }
        #expect(played.count == frames * 1920)
        #expect((0..<frames).map { MarkedFrames.marker(in: played, slot: $0) } == [-1] + (0..<(frames - 1)).map { Optional($0) })
    }

    @Test func aMissingALSADeviceIsAClearError() throws {
        let alsa = try Self.configuration(input: "/dev/null", output: "/dev/null")
        let error = #expect(throws: ALSAError.self) { _ = try ALSACaptureSource(name: "no_such_mic", alsaConfiguration: alsa) }
        #expect(error?.description.contains("no_such_mic") == true)
    }
}

/// Echo cancellation in the loop: the capture hears what the sink played.
@Suite(.timeLimit(.minutes(1))) struct EchoCancellationLoopTests {
    /// Plays frame-numbered noise: frame n's output is noise seeded by n.
    final class NoiseProcessor: FrameProcessor {
        private var call = 0
        var stageNames: [String] { ["noise"] }
        static func noise(frame: Int) -> [Float] {
            var state = UInt64(frame + 1) &* 0x9E37_79B9_7F4A_7C15
            return (0..<1920).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23) * 0.3
            }
        }
        func process(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, stageNanoseconds: UnsafeMutablePointer<UInt64>) -> FrameResult {
            let noise = Self.noise(frame: call)
            call += 1
            noise.withUnsafeBufferPointer { output.update(from: $0.baseAddress!, count: 1920) }
            return FrameResult(producedAudio: true, textToken: nil)
        }
        func reset() { call = 0 }
    }

    @Test func theEchoOfWhatWasPlayedIsRemovedFromTheCapture() throws {
        // On the virtual clock, capture k happens after output k - 1 was played: the microphone hears
        // half of it.
        let frames = 100
        var microphone = [Float](repeating: 0, count: 1920)
        for k in 1..<frames { microphone += NoiseProcessor.noise(frame: k - 1).map { $0 * 0.5 } }
        let directory = TemporaryDirectory()
        let recorder = StereoRecorder(path: directory.path("rec.wav"))
        let clock = VirtualClock()
        let loop = try FrameLoop(source: SampleBufferSource(samples: microphone), processor: NoiseProcessor(), sink: NullSink(),
                                 configuration: .test(), clock: clock, recorder: recorder,
                                 echoCanceller: try EchoCanceller(sampleRate: 24000, frameSize: 480, filterLength: 2400))
        let report = try loop.run()
        #expect(report.frames == frames)
        let file = try WAVFile(contentsOf: directory.path("rec.wav"))
        let user = stride(from: 0, to: file.samples.count, by: 2).map { file.samples[$0] }
        func power(_ samples: ArraySlice<Float>) -> Double { samples.reduce(0) { $0 + Double($1 * $1) } / Double(samples.count) }
        let tail = (frames - 25) * 1920
        let before = power(microphone[tail...]), after = power(user[tail...])
        #expect(after < before * 0.1, "echo power \(before) → \(after)")
    }
}
