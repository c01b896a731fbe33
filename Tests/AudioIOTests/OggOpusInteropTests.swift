import Foundation
import Testing
@testable import AudioIO

/// Ogg Opus against the real tools, both ways: what we write plays with `opusdec` and
/// `ffmpeg`; what `opusenc` and `ffmpeg -c:a libopus` write decodes with us.
@Suite struct OggOpusInteropTests {
    static let hasTools = ExternalTool.exists("opusenc") && ExternalTool.exists("opusdec") && ExternalTool.exists("ffmpeg")

    /// A speech WAV: espeak-ng's (22,050 Hz) when installed, else a synthetic one at 22,050 Hz.
    static func speechWAV(in directory: TemporaryDirectory) throws -> String {
        let path = directory.path("speech.wav")
        if let espeak = ExternalTool.path("espeak-ng"),
           ExternalTool.run(espeak, ["-w", path, "Full duplex speech needs audio that every tool can read."]).status == 0 {
            return path
        }
        try WAVFile(samples: TestSignal.speechLike(sampleRate: 22050, seconds: 2.5, seed: 8), sampleRate: 22050).write(to: path)
        return path
    }

    /// Checks that `decoded` is `reference` (both 24 kHz mono): length within `tolerance`
    /// samples, and correlated above `minimum` near lag 0.
    static func expectSameAudio(_ decoded: [Float], _ reference: [Float], tolerance: Int, minimum: Double, _ what: String) {
        #expect(abs(decoded.count - reference.count) <= tolerance, "\(what): \(decoded.count) samples, expected \(reference.count)")
        let best = Measure.bestCorrelation(decoded, reference, lags: -100...100)
        print("interop \(what): \(decoded.count) samples (reference \(reference.count)), correlation \(String(format: "%.3f", best.correlation)) at lag \(best.lag)")
        #expect(best.correlation > minimum && abs(best.lag) <= 24, "\(what): correlation \(best.correlation) at lag \(best.lag)")
    }

    @Test(.enabled(if: hasTools, "needs opusdec and ffmpeg"))
    func ourFilesPlayWithOpusdecAndFfmpeg() throws {
        let directory = TemporaryDirectory()
        let speech = try AudioFile.readMono24k(Self.speechWAV(in: directory))
        let ours = directory.path("ours.opus")
        try AudioFile.write(ours, samples: speech, sampleRate: 24000)

        let opusdecOut = directory.path("opusdec.wav")
        let opusdec = ExternalTool.run(ExternalTool.path("opusdec")!, ["--quiet", "--rate", "24000", ours, opusdecOut])
        #expect(opusdec.status == 0, "\(opusdec.output)")
        let viaOpusdec = try WAVFile(contentsOf: opusdecOut)
        #expect(viaOpusdec.sampleRate == 24000 && viaOpusdec.channelCount == 1)
        // opusdec honours pre-skip and the end granule: the length is exact.
        Self.expectSameAudio(viaOpusdec.samples, speech, tolerance: 0, minimum: 0.9, "opusdec")

        let ffmpegOut = directory.path("ffmpeg.wav")
        let ffmpeg = ExternalTool.run(ExternalTool.path("ffmpeg")!, ["-v", "error", "-y", "-i", ours, "-ar", "24000", "-ac", "1", ffmpegOut])
        #expect(ffmpeg.status == 0, "\(ffmpeg.output)")
        let viaFfmpeg = try WAVFile(contentsOf: ffmpegOut)
        #expect(viaFfmpeg.sampleRate == 24000)
        Self.expectSameAudio(viaFfmpeg.samples, speech, tolerance: 2, minimum: 0.9, "ffmpeg")
    }

    @Test(.enabled(if: hasTools, "needs opusenc"))
    func opusencFilesDecodeWithUs() throws {
        let directory = TemporaryDirectory()
        let wav = try Self.speechWAV(in: directory)
        let reference = try AudioFile.readMono24k(wav)
        let encoded = directory.path("opusenc.opus")
        let opusenc = ExternalTool.run(ExternalTool.path("opusenc")!, ["--quiet", "--bitrate", "32", wav, encoded])
        #expect(opusenc.status == 0, "\(opusenc.output)")
        let decoded = try AudioFile.readMono24k(encoded)
        // opusenc resamples 22,050 Hz to 48 kHz itself and sets pre-skip and the end granule.
        Self.expectSameAudio(decoded, reference, tolerance: 2, minimum: 0.85, "opusenc")
    }

    @Test(.enabled(if: hasTools, "needs ffmpeg with libopus"))
    func ffmpegLibopusFilesDecodeWithUs() throws {
        let directory = TemporaryDirectory()
        let wav = try Self.speechWAV(in: directory)
        let reference = try AudioFile.readMono24k(wav)
        for (name, rate) in [("ffmpeg48k.ogg", "48000"), ("ffmpeg24k.opus", "24000")] {
            let encoded = directory.path(name)
            let ffmpeg = ExternalTool.run(ExternalTool.path("ffmpeg")!, ["-v", "error", "-y", "-i", wav, "-ar", rate, "-c:a", "libopus", "-b:a", "32k", encoded])
            #expect(ffmpeg.status == 0, "\(ffmpeg.output)")
            let decoded = try AudioFile.readMono24k(encoded)
            Self.expectSameAudio(decoded, reference, tolerance: 2, minimum: 0.85, name)
        }
    }
}
