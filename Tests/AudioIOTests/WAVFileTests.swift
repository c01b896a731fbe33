import Foundation
import Testing
@testable import AudioIO

@Suite struct WAVFileTests {
    @Test(arguments: [8000, 16000, 22050, 24000, 44100, 48000], [1, 2, 6])
    func pcm16RoundTripAtSeveralRatesAndChannelCounts(sampleRate: Int, channels: Int) throws {
        var random = TestRandom(seed: UInt64(sampleRate * channels))
        // Values on the 16-bit grid survive exactly.
        let samples = (0..<(channels * 500)).map { _ in Float(Int16(truncatingIfNeeded: random.next())) / 32768 }
        let file = WAVFile(samples: samples, sampleRate: sampleRate, channelCount: channels)
        let bytes = try file.encoded(as: .pcm16)
        #expect(bytes.count == 44 + (channels > 2 ? 24 : 0) + samples.count * 2)
        let read = try WAVFile(bytes: bytes)
        #expect(read.samples == samples && read.sampleRate == sampleRate && read.channelCount == channels)
        #expect(read.storedFormat == .pcm16 && read.frameCount == 500)
    }

    @Test(arguments: WAVSampleFormat.allCases, [false, true])
    func everyFormatRoundTripsPlainOrExtensible(format: WAVSampleFormat, extensible: Bool) throws {
        let samples: [Float] = [0, 0.5, -0.5, 0.25, -1, 0.9921875, 0.125, -0.0078125]  // exact in 8 bits and up
        let bytes = try WAVFile(samples: samples, sampleRate: 24000, channelCount: 2).encoded(as: format, extensible: extensible)
        #expect(bytes[20] == (extensible ? 0xFE : format.isFloat ? 3 : 1))
        // RIFF's size field counts every byte after itself ("WAVE" and every chunk, padding included).
        let riffSize = bytes[4..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        #expect(Array(bytes[0..<4]) == Array("RIFF".utf8) && riffSize == bytes.count - 8, "RIFF size \(riffSize) for \(bytes.count) bytes")
        let read = try WAVFile(bytes: bytes)
        #expect(read.samples == samples && read.storedFormat == format && read.channelCount == 2)
    }

    @Test func sixteenBitValuesReadAsValueOver32768() throws {
        var bytes = try WAVFile(samples: [0, 0, 0, 0], sampleRate: 8000).encoded()
        for (i, value) in [Int16.min, 16384, -1, Int16.max].enumerated() {
            let bits = UInt16(bitPattern: value)
            bytes[44 + 2 * i] = UInt8(bits & 0xFF)
            bytes[45 + 2 * i] = UInt8(bits >> 8)
        }
        #expect(try WAVFile(bytes: bytes).samples == [-1, 0.5, -1.0 / 32768, 32767.0 / 32768])
        // Writing clamps out-of-range and rounds.
        let clamped = try WAVFile(bytes: WAVFile(samples: [2, -2, 0.5 / 32768 * 1.2], sampleRate: 8000).encoded())
        #expect(clamped.samples == [32767.0 / 32768, -1, 1.0 / 32768])
    }

    @Test func unknownChunksAreSkippedIncludingOddSizedOnes() throws {
        let plain = try WAVFile(samples: [0.25, -0.25, 0.5], sampleRate: 16000).encoded()
        // RIFF/WAVE, then a LIST chunk of odd size (padded), a fact chunk, fmt, junk, data.
        var bytes = Array(plain[0..<12])
        bytes += Array("LIST".utf8) + [5, 0, 0, 0] + Array("INFOx".utf8) + [0]
        bytes += Array("fact".utf8) + [4, 0, 0, 0, 3, 0, 0, 0]
        bytes += Array(plain[12..<36])                       // fmt chunk
        bytes += Array("junk".utf8) + [2, 0, 0, 0, 9, 9]
        bytes += Array(plain[36...])                         // data chunk
        let read = try WAVFile(bytes: bytes)
        #expect(read.samples == [0.25, -0.25, 0.5] && read.sampleRate == 16000)
    }

    @Test func truncatedAndNonWAVInputAreClearErrors() throws {
        let bytes = try WAVFile(samples: [Float](repeating: 0.1, count: 100), sampleRate: 24000).encoded()
        #expect(throws: WAVError.truncated("data chunk announces 200 bytes, 100 present")) { _ = try WAVFile(bytes: Array(bytes.prefix(144))) }
        #expect(throws: WAVError.truncated("fmt chunk of 16 bytes")) { _ = try WAVFile(bytes: Array(bytes.prefix(30))) }
        #expect(throws: WAVError.invalidHeader("no data chunk")) { _ = try WAVFile(bytes: Array(bytes.prefix(36))) }
        #expect(throws: WAVError.notWAV("only 3 bytes")) { _ = try WAVFile(bytes: [1, 2, 3]) }
        #expect(throws: WAVError.notWAV("no RIFF signature")) { _ = try WAVFile(bytes: Array("OggS, certainly not a WAV file".utf8)) }
        var notWave = bytes
        notWave[8] = UInt8(ascii: "A")
        #expect(throws: WAVError.notWAV("RIFF form is not WAVE")) { _ = try WAVFile(bytes: notWave) }
        var adpcm = bytes
        adpcm[20] = 2  // MS ADPCM
        #expect(throws: WAVError.unsupportedEncoding(formatTag: 2, bitsPerSample: 16)) { _ = try WAVFile(bytes: adpcm) }
        var zeroChannels = bytes
        zeroChannels[22] = 0
        #expect(throws: WAVError.invalidHeader("0 channels")) { _ = try WAVFile(bytes: zeroChannels) }
        #expect(throws: WAVError.self) { _ = try WAVFile(contentsOf: "/nonexistent/file.wav") }
    }

    @Test func streamingDataSizeReadsToTheEnd() throws {
        var bytes = try WAVFile(samples: [0.5, -0.5, 0.25], sampleRate: 24000).encoded()
        bytes[40] = 0xFF; bytes[41] = 0xFF; bytes[42] = 0xFF; bytes[43] = 0xFF
        #expect(try WAVFile(bytes: bytes).samples == [0.5, -0.5, 0.25])
    }

    @Test(.enabled(if: ExternalTool.exists("sox"), "needs sox"))
    func readsWhatSoxWrites() throws {
        let directory = TemporaryDirectory()
        // 24-bit, 3 channels (sox writes WAVE_FORMAT_EXTENSIBLE), 32 kHz, a 1 kHz tone.
        let path = directory.path("sox.wav")
        let result = ExternalTool.run(ExternalTool.path("sox")!, ["-n", "-r", "32000", "-c", "3", "-b", "24", path, "synth", "0.5", "sine", "1000", "vol", "0.5"])
        #expect(result.status == 0, "\(result.output)")
        let file = try WAVFile(contentsOf: path)
        #expect(file.sampleRate == 32000 && file.channelCount == 3 && file.frameCount == 16000 && file.storedFormat == .pcm24)
        let mono = ChannelMixer.downmix(file.samples, channelCount: 3)
        #expect(abs(Measure.zeroCrossingFrequency(mono[...], sampleRate: 32000) - 1000) < 5)
        #expect(abs(Measure.power(mono) - 0.125) < 0.01)  // a 0.5-amplitude sine
    }

    @Test(.enabled(if: ExternalTool.exists("ffmpeg"), "needs ffmpeg"))
    func ffmpegReadsWhatWeWrite() throws {
        let directory = TemporaryDirectory()
        let samples = TestSignal.sine(frequency: 440, sampleRate: 44100, count: 44100)
        let stereo: [Float] = samples.flatMap { [$0, -$0] }
        let ours = directory.path("ours.wav"), back = directory.path("back.wav")
        try WAVFile(samples: stereo, sampleRate: 44100, channelCount: 2).write(to: ours, as: .float32)
        let result = ExternalTool.run(ExternalTool.path("ffmpeg")!, ["-v", "error", "-y", "-i", ours, "-c:a", "pcm_s16le", back])
        #expect(result.status == 0, "\(result.output)")
        let read = try WAVFile(contentsOf: back)  // ffmpeg adds a LIST chunk
        #expect(read.channelCount == 2 && read.sampleRate == 44100 && read.frameCount == 44100)
        #expect(zip(read.samples, stereo).allSatisfy { abs($0 - $1) <= 1.0 / 32768 })
    }
}
