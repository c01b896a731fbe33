import Foundation

/// Reading and writing audio files by extension: `.wav` (`WAVFile`) and Ogg Opus (`.ogg`,
/// `.opus`, through `OggOpusDecoder` / `OggOpusWriter`). The commands that take audio files
/// (`moshi codec`, `moshi run`, `moshi profile`, `moshi client`) go through here.
package enum AudioFile {
    /// The model's sample rate.
    package static let modelSampleRate = 24000

    /// Reads `path` as mono audio at 24 kHz: channels averaged, other rates converted with
    /// speexdsp at `quality` (24 kHz input is returned sample-exact).
    package static func readMono24k(_ path: String, quality: Int = Resampler.fileQuality) throws -> [Float] {
        let (samples, sampleRate, channelCount) = try read(path)
        let mono = ChannelMixer.downmix(samples, channelCount: channelCount)
        return try Resampler.resample(mono, from: sampleRate, to: modelSampleRate, quality: quality)
    }

    /// Reads `path` as it is stored: interleaved samples, rate, channel count. Ogg Opus comes
    /// out decoded at 24 kHz mono.
    package static func read(_ path: String) throws -> (samples: [Float], sampleRate: Int, channelCount: Int) {
        switch try AudioFileKind(path: path) {
        case .wav:
            let file = try WAVFile(contentsOf: path)
            return (file.samples, file.sampleRate, file.channelCount)
        case .oggOpus:
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw AudioFileError.io(path: path, message: "cannot read: \(error.localizedDescription)")
            }
            return (try decodeOggOpus([UInt8](data)), OggOpusDecoder.sampleRate, 1)
        }
    }

    /// Decodes a whole Ogg Opus stream to 24 kHz mono.
    package static func decodeOggOpus(_ bytes: [UInt8]) throws -> [Float] {
        let decoder = OggOpusDecoder()
        decoder.push(bytes)
        var samples: [Float] = []
        try decoder.decodeAvailable(appendingTo: &samples)
        guard decoder.reader.head != nil else { throw OggOpusError.noOpusStream }
        return samples
    }

    /// Writes interleaved `samples` to `path` in `format` (by default chosen by the extension).
    /// Ogg Opus is written mono at 24 kHz: other channel counts are averaged and other rates
    /// resampled first.
    package static func write(_ path: String, samples: [Float], sampleRate: Int, channelCount: Int = 1, format: AudioFileFormat? = nil) throws {
        guard channelCount > 0, samples.count % channelCount == 0 else {
            throw AudioFileError.invalidAudio("\(samples.count) samples is not a whole number of \(channelCount)-channel frames")
        }
        let bytes: [UInt8]
        switch try format ?? AudioFileFormat.forExtension(of: path) {
        case .wav(let sampleFormat):
            bytes = try WAVFile(samples: samples, sampleRate: sampleRate, channelCount: channelCount).encoded(as: sampleFormat)
        case .oggOpus(let bitrate, let frameDuration):
            let mono = ChannelMixer.downmix(samples, channelCount: channelCount)
            let mono24k = try Resampler.resample(mono, from: sampleRate, to: modelSampleRate)
            bytes = try encodeOggOpus(mono24k, bitrate: bitrate, frameDuration: frameDuration)
        }
        do { try Data(bytes).write(to: URL(fileURLWithPath: path)) } catch {
            throw AudioFileError.io(path: path, message: "cannot write: \(error.localizedDescription)")
        }
    }

    /// Encodes a whole 24 kHz mono signal as an Ogg Opus stream. The input is padded with
    /// silence to cover the encoder's lookahead and a whole last frame; the end-of-stream
    /// granule position trims the padding, so decoders return exactly `samples.count` samples.
    package static func encodeOggOpus(_ samples: [Float], bitrate: Int = 32000, frameDuration: OpusFrameDuration = .ms20, application: OpusApplication = .voip) throws -> [UInt8] {
        let encoder = try OpusEncoder(sampleRate: modelSampleRate, channelCount: 1, application: application)
        try encoder.setBitrate(bitrate)
        let writer = try OggOpusWriter(head: OpusHead(preSkip: encoder.preSkip48k, inputSampleRate: modelSampleRate))
        let frameSize = frameDuration.samples(atRate: modelSampleRate)
        let frameCount = max(1, (samples.count + encoder.lookahead + frameSize - 1) / frameSize)
        var padded = samples
        padded += [Float](repeating: 0, count: frameCount * frameSize - samples.count)
        var output: [UInt8] = []
        var packet = [UInt8](repeating: 0, count: OpusEncoder.maximumPacketSize)
        let decodedTotal48k = frameCount * frameSize * (OpusSampleRate.granuleRate / modelSampleRate)
        let wanted48k = encoder.preSkip48k + samples.count * (OpusSampleRate.granuleRate / modelSampleRate)
        for frame in 0..<frameCount {
            let length = try padded.withUnsafeBufferPointer { (pcm) throws(OpusError) in
                try packet.withUnsafeMutableBufferPointer { (out) throws(OpusError) in
                    try encoder.encode(UnsafeBufferPointer(rebasing: pcm[(frame * frameSize)..<((frame + 1) * frameSize)]), into: out)
                }
            }
            let isLast = frame == frameCount - 1
            try packet.withUnsafeBufferPointer { (bytes) throws(OggOpusError) in
                try writer.write(packet: UnsafeBufferPointer(rebasing: bytes[0..<length]), endOfStream: isLast,
                                 trailingPadding48k: isLast ? decodedTotal48k - wanted48k : 0, to: &output)
            }
        }
        return output
    }
}
