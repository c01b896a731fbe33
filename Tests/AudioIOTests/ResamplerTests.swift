import Testing
@testable import AudioIO

@Suite struct ResamplerTests {
    @Test func equalRatesBypassSpeexAndAreExact() throws {
        var random = TestRandom(seed: 1)
        let samples = (0..<5000).map { _ in random.signed() }
        #expect(try Resampler.resample(samples, from: 24000, to: 24000) == samples)
        let resampler = try Resampler(from: 24000, to: 24000)
        #expect(resampler.isBypass)
        var out = [Float](repeating: 0, count: 5000)
        let step = try samples.withUnsafeBufferPointer { input in try out.withUnsafeMutableBufferPointer { try resampler.process(input, into: $0) } }
        #expect(step.consumed == 5000 && step.produced == 5000 && out == samples)
    }

    @Test(arguments: [8000, 16000, 22050, 44100, 48000, 96000])
    func toneKeepsItsFrequencyLengthAndTimingAt24kHz(inputRate: Int) throws {
        let seconds = 0.5
        let tone = TestSignal.sine(frequency: 1000, sampleRate: inputRate, count: Int(seconds * Double(inputRate)))
        let out = try Resampler.resample(tone, from: inputRate, to: 24000)
        #expect(out.count == 12000)
        #expect(abs(Measure.zeroCrossingFrequency(out[1000..<11000], sampleRate: 24000) - 1000) < 2)
        #expect(abs(Measure.power(out[1000..<11000]) - 0.125) < 0.005)
        // Time-aligned: matches the ideal 24 kHz tone at lag 0.
        let ideal = TestSignal.sine(frequency: 1000, sampleRate: 24000, count: 12000)
        #expect(Measure.correlation(Array(out[500..<11500]), Array(ideal[500..<11500])) > 0.999)
    }

    @Test func upAndDownAgainIsNearlyTransparentForSpeech() throws {
        let speech = TestSignal.speechLike(sampleRate: 24000, seconds: 1, seed: 2)
        let up = try Resampler.resample(speech, from: 24000, to: 48000)
        #expect(up.count == 48000)
        let back = try Resampler.resample(up, from: 48000, to: 24000)
        #expect(back.count == speech.count)
        let error = zip(back, speech).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Float(speech.count)
        #expect(Double(error) < 0.001 * Measure.power(speech), "residual \(error)")
    }

    @Test func streamingProcessingMatchesTheRatioAndStereoStaysInterleaved() throws {
        let resampler = try Resampler(from: 48000, to: 24000, channelCount: 2, quality: Resampler.liveQuality)
        let left = TestSignal.sine(frequency: 500, sampleRate: 48000, count: 9600)
        let stereo: [Float] = left.flatMap { [$0, 0] }
        var out = [Float](repeating: 0, count: resampler.outputCapacity(forInputFrames: 9600) * 2)
        var consumed = 0, produced = 0
        for chunk in stride(from: 0, to: 9600, by: 960) {
            let outputStart = produced * 2
            let step = try stereo.withUnsafeBufferPointer { (input) throws -> (consumed: Int, produced: Int) in
                try out.withUnsafeMutableBufferPointer { (output) throws -> (consumed: Int, produced: Int) in
                    let slice = UnsafeMutableBufferPointer(rebasing: output[outputStart..<output.count])
                    return try resampler.process(UnsafeBufferPointer(rebasing: input[(chunk * 2)..<((chunk + 960) * 2)]), into: slice)
                }
            }
            consumed += step.consumed
            produced += step.produced
        }
        #expect(consumed == 9600)
        #expect(abs(produced - 4800) <= resampler.inputLatency)
        let rightChannel = stride(from: 1, to: produced * 2, by: 2).map { out[$0] }
        #expect(rightChannel.allSatisfy { abs($0) < 1e-4 })
    }

    @Test func badRatesAreErrorsWithSpeexMessages() {
        let error = #expect(throws: ResamplerError.self) { _ = try Resampler(from: 0, to: 24000) }
        #expect(error?.message.hasPrefix("Invalid argument") == true)
        #expect(throws: ResamplerError.self) { _ = try Resampler(from: 48000, to: 24000, quality: 11) }
    }

    @Test func downmixAveragesChannels() {
        #expect(ChannelMixer.downmix([1, 0, 0.5, 0.5, -1, 1], channelCount: 2) == [0.5, 0.5, 0])
        #expect(ChannelMixer.downmix([0.3, 0.6, 0.9], channelCount: 3) == [0.6])
        #expect(ChannelMixer.downmix([0.1, 0.2], channelCount: 1) == [0.1, 0.2])
    }
}
