import Testing
@testable import AudioIO

@Suite struct AudioFileTests {
    @Test func stereo48kWAVIsReadAsMono24k() throws {
        let directory = TemporaryDirectory()
        let left = TestSignal.sine(frequency: 700, sampleRate: 48000, count: 48000, amplitude: 0.6)
        let stereo: [Float] = left.flatMap { [$0, $0 * 0.5] }
        let path = directory.path("stereo.WAV")
        try AudioFile.write(path, samples: stereo, sampleRate: 48000, channelCount: 2, format: .wav(.float32))
        let mono = try AudioFile.readMono24k(path)
        #expect(mono.count == 24000)
        let ideal = TestSignal.sine(frequency: 700, sampleRate: 24000, count: 24000, amplitude: 0.45)
        #expect(zip(mono[100..<23900], ideal[100..<23900]).allSatisfy { abs($0 - $1) < 0.01 })
    }

    @Test func a24kHzWAVIsReadSampleExact() throws {
        let directory = TemporaryDirectory()
        let samples = TestSignal.speechLike(sampleRate: 24000, seconds: 0.5, seed: 30).map { Float(Int16($0 * 32767)) / 32768 }
        let path = directory.path("exact.wav")
        try AudioFile.write(path, samples: samples, sampleRate: 24000)
        #expect(try AudioFile.readMono24k(path) == samples)
    }

    @Test(arguments: ["speech.ogg", "speech.opus"])
    func oggOpusFilesRoundTripWithExactLength(name: String) throws {
        let directory = TemporaryDirectory()
        let speech = TestSignal.speechLike(sampleRate: 16000, seconds: 1.3, seed: 31)
        let path = directory.path(name)
        try AudioFile.write(path, samples: speech, sampleRate: 16000)
        let decoded = try AudioFile.readMono24k(path)
        let reference = try Resampler.resample(speech, from: 16000, to: 24000)
        #expect(decoded.count == reference.count)
        #expect(Measure.bestCorrelation(decoded, reference, lags: -10...10).correlation > 0.9)
    }

    @Test func unknownExtensionsAndMissingFilesAreClearErrors() throws {
        #expect(throws: AudioFileError.unsupportedExtension(path: "/tmp/sound.mp3")) { _ = try AudioFile.readMono24k("/tmp/sound.mp3") }
        #expect(throws: AudioFileError.unsupportedExtension(path: "noextension")) { try AudioFile.write("noextension", samples: [0], sampleRate: 24000) }
        #expect(throws: AudioFileError.self) { _ = try AudioFile.readMono24k("/nonexistent/x.opus") }
        #expect(throws: WAVError.self) { _ = try AudioFile.readMono24k("/nonexistent/x.wav") }
        #expect(throws: AudioFileError.self) { try AudioFile.write("/tmp/x.wav", samples: [0, 0, 0], sampleRate: 24000, channelCount: 2) }
        let directory = TemporaryDirectory()
        let notOgg = directory.path("fake.ogg")
        try WAVFile(samples: [0.1, 0.2], sampleRate: 24000).write(to: notOgg)
        #expect(throws: OggOpusError.noOpusStream) { _ = try AudioFile.readMono24k(notOgg) }
        #expect(try AudioFileKind(path: "a/b.Opus") == .oggOpus)
        #expect(try AudioFileFormat.forExtension(of: "x.wav") == .wav(.pcm16))
    }
}
