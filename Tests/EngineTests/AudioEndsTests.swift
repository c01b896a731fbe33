import AudioIO
import Foundation
import Testing
@testable import Engine

@Suite struct SourceAndSinkTests {
    @Test func builtInSampleIsAbout9sOfSpeech() throws {
        let samples = try BuiltInSpeechSample.samples()
        let seconds = Double(samples.count) / 24000
        #expect(seconds > 8 && seconds < 11)
        let rms = (samples.reduce(0) { $0 + Double($1 * $1) } / Double(samples.count)).squareRoot()
        #expect(rms > 0.02 && rms < 0.5)
        #expect(BuiltInSpeechSample.oggOpusBytes.count < 40_000)
    }

    @Test func sampleBufferSourcePadsTheLastFrameAndEnds() throws {
        let source = SampleBufferSource(samples: [Float](repeating: 0.5, count: 1920 + 10))
        try source.start()
        var frame = [Float](repeating: 9, count: 1920)
        #expect(try frame.withUnsafeMutableBufferPointer { try source.read(into: $0.baseAddress!) })
        #expect(frame.allSatisfy { $0 == 0.5 })
        #expect(try frame.withUnsafeMutableBufferPointer { try source.read(into: $0.baseAddress!) })
        #expect(frame[..<10].allSatisfy { $0 == 0.5 } && frame[10...].allSatisfy { $0 == 0 })
        #expect(try !frame.withUnsafeMutableBufferPointer { try source.read(into: $0.baseAddress!) })
        #expect(source.frameCount == 2)
    }

    @Test func aMissingFileIsAClearError() {
        #expect(throws: (any Error).self) { _ = try SampleBufferSource(file: "/nonexistent/in.wav") }
    }

    @Test func syntheticToneHasItsFrequencyAndEndsAfterItsFrames() throws {
        let source = SyntheticSource(.tone(frequency: 1000, amplitude: 0.25), frames: 2)
        try source.start()
        var frame = [Float](repeating: 0, count: 1920)
        #expect(try frame.withUnsafeMutableBufferPointer { try source.read(into: $0.baseAddress!) })
        let crossings = zip(frame, frame.dropFirst()).filter { $0 < 0 && $1 >= 0 }.count
        #expect(crossings == 79)  // 1 kHz over 80 ms: 80 periods, the first starting at sample 0
        #expect(abs((frame.max() ?? 0) - 0.25) < 0.001)
        #expect(try frame.withUnsafeMutableBufferPointer { try source.read(into: $0.baseAddress!) })
        #expect(try !frame.withUnsafeMutableBufferPointer { try source.read(into: $0.baseAddress!) })
    }

    @Test func wavStreamWriterWritesReadableFilesInBothEncodings() throws {
        let directory = TemporaryDirectory()
        let stereo: [Float] = (0..<200).map { Float($0 % 50) / 64 - 0.3 }
        for encoding in WAVStreamWriter.supportedFormats {
            let path = directory.path("\(encoding).wav")
            let writer = try WAVStreamWriter(path: path, channelCount: 2, encoding: encoding, maximumFramesPerWrite: 30)
            try stereo.withUnsafeBufferPointer { try writer.write($0.baseAddress!, frames: 100) }
            try writer.close()
            let file = try WAVFile(contentsOf: path)
            #expect(file.channelCount == 2 && file.sampleRate == 24000 && file.samples.count == 200)
            let tolerance: Float = encoding == .pcm16 ? 1 / 32768 : 0
            #expect(zip(file.samples, stereo).allSatisfy { abs($0 - $1) <= tolerance })
            // The same bytes WAVFile writes for the same samples: one header builder.
            let whole = try WAVFile(samples: stereo, sampleRate: 24000, channelCount: 2).encoded(as: encoding)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(whole))
        }
        // A mono file too.
        let odd = directory.path("mono.wav")
        let writer = try WAVStreamWriter(path: odd, channelCount: 1, encoding: .pcm16)
        let three: [Float] = [0.5, -0.5, 0.25]
        try three.withUnsafeBufferPointer { try writer.write($0.baseAddress!, frames: 3) }
        try writer.close()
        #expect(try WAVFile(contentsOf: odd).samples == three)
        #expect(try Data(contentsOf: URL(fileURLWithPath: odd)) == Data(try WAVFile(samples: three, sampleRate: 24000).encoded()))
        #expect(throws: WAVError.self) { _ = try WAVStreamWriter(path: "/nonexistent/dir/x.wav") }
        #expect(throws: WAVError.self) { _ = try WAVStreamWriter(path: directory.path("x.wav"), encoding: .pcm24) }
    }

    @Test func stereoRecorderKeepsUserLeftAndModelRightInStep() throws {
        let directory = TemporaryDirectory()
        let clock = VirtualClock()
        let recorder = StereoRecorder(path: directory.path("rec.wav"))
        let loop = try FrameLoop(source: SampleBufferSource(samples: MarkedFrames.samples(frames: 12)),
                                 processor: DelayProcessor(clock: clock), sink: NullSink(),
                                 configuration: .test(), clock: clock, recorder: recorder)
        _ = try loop.run()
        let file = try WAVFile(contentsOf: directory.path("rec.wav"))
        #expect(file.channelCount == 2 && file.frameCount == 12 * 1920)
        let left = stride(from: 0, to: file.samples.count, by: 2).map { file.samples[$0] }
        let right = stride(from: 1, to: file.samples.count, by: 2).map { file.samples[$0] }
        #expect((0..<12).map { MarkedFrames.marker(in: left, slot: $0) } == (0..<12).map { Optional($0) })
        #expect((0..<12).map { MarkedFrames.marker(in: right, slot: $0) } == [-1] + (0..<11).map { Optional($0) })
        #expect(recorder.lostFrames == 0 && recorder.framesWritten == 12)
    }
}
