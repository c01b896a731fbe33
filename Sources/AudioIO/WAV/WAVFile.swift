import Foundation

/// A WAV (RIFF/WAVE) file in memory: interleaved float samples plus rate and channel count.
///
/// Reads PCM 8/16/24/32-bit and IEEE float 32/64-bit, plain `WAVE_FORMAT_PCM` /
/// `WAVE_FORMAT_IEEE_FLOAT` headers and `WAVE_FORMAT_EXTENSIBLE` ones, any rate and channel
/// count; chunks other than `fmt ` and `data` (LIST, fact, ...) are skipped. Writes 16-bit PCM
/// by default, or any of the formats above; the extensible header is used when the channel
/// count or bit depth needs it (more than 2 channels, more than 16 bits), as Microsoft asks.
/// Truncated or non-WAV input is a `WAVError`, never a crash.
package struct WAVFile: Sendable, Equatable {
    /// Interleaved samples, nominally -1...1 (16-bit values are read as v / 32768).
    package var samples: [Float]
    /// Frames per second.
    package var sampleRate: Int
    /// Interleaved channels.
    package var channelCount: Int
    /// How the samples were stored, for a file that was read.
    package private(set) var storedFormat: WAVSampleFormat?

    /// The number of frames (samples per channel).
    package var frameCount: Int { channelCount > 0 ? samples.count / channelCount : 0 }

    /// The most channels we accept in a header.
    package static let maximumChannelCount = 64

    package init(samples: [Float], sampleRate: Int, channelCount: Int = 1) {
        self.samples = samples
        self.sampleRate = sampleRate
        self.channelCount = channelCount
    }

    /// Reads and parses the file at `path`.
    package init(contentsOf path: String) throws(WAVError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .io(path: path, message: "cannot read: \(error.localizedDescription)")
        }
        try self.init(bytes: [UInt8](data))
    }

    /// Parses a whole WAV file held in memory.
    package init(bytes: [UInt8]) throws(WAVError) {
        let parsed = bytes.withUnsafeBytes { raw in Result { () throws(WAVError) in try WAVFile.parse(raw) } }
        self = try parsed.get()
    }

    private static func parse(_ bytes: UnsafeRawBufferPointer) throws(WAVError) -> WAVFile {
        guard bytes.count >= 12 else { throw .notWAV("only \(bytes.count) bytes") }
        guard bytes.prefix(4).elementsEqual("RIFF".utf8) else {
            if bytes.prefix(4).elementsEqual("RF64".utf8) { throw .notWAV("RF64 (64-bit WAV) is not supported") }
            throw .notWAV("no RIFF signature")
        }
        guard bytes[8..<12].elementsEqual("WAVE".utf8) else { throw .notWAV("RIFF form is not WAVE") }

        var format: (tag: UInt16, channels: Int, rate: Int, blockAlign: Int, bits: Int)?
        var dataRange: Range<Int>?
        var offset = 12
        while offset + 8 <= bytes.count {
            let id = bytes[offset..<(offset + 4)]
            let size = Int(bytes.loadLittleEndianUInt32(at: offset + 4))
            let body = offset + 8
            if id.elementsEqual("fmt ".utf8) {
                guard size >= 16, body + 16 <= bytes.count else { throw .truncated("fmt chunk of \(size) bytes") }
                var tag = bytes.loadLittleEndianUInt16(at: body)
                let channels = Int(bytes.loadLittleEndianUInt16(at: body + 2))
                let rate = Int(bytes.loadLittleEndianUInt32(at: body + 4))
                let blockAlign = Int(bytes.loadLittleEndianUInt16(at: body + 12))
                let bits = Int(bytes.loadLittleEndianUInt16(at: body + 14))
                if tag == 0xFFFE {  // WAVE_FORMAT_EXTENSIBLE: the real tag starts the SubFormat GUID
                    guard size >= 40, body + 40 <= bytes.count else { throw .truncated("extensible fmt chunk of \(size) bytes") }
                    tag = bytes.loadLittleEndianUInt16(at: body + 24)
                }
                format = (tag, channels, rate, blockAlign, bits)
            } else if id.elementsEqual("data".utf8) {
                let available = bytes.count - body
                if size <= available {
                    dataRange = body..<(body + size)
                } else if size == 0xFFFF_FFFF || size == 0 {
                    dataRange = body..<bytes.count  // written by a streaming writer that never came back
                } else {
                    throw .truncated("data chunk announces \(size) bytes, \(available) present")
                }
                if format != nil { break }
            }
            offset = body + size + (size & 1)  // chunks are padded to an even size
        }
        guard let format else { throw .invalidHeader("no fmt chunk") }
        guard let dataRange else { throw .invalidHeader("no data chunk") }
        guard let sampleFormat = WAVSampleFormat(formatTag: format.tag, bitsPerSample: format.bits) else {
            throw .unsupportedEncoding(formatTag: format.tag, bitsPerSample: format.bits)
        }
        guard (1...maximumChannelCount).contains(format.channels) else { throw .invalidHeader("\(format.channels) channels") }
        guard format.rate > 0 else { throw .invalidHeader("sample rate 0") }
        let bytesPerSample = format.bits / 8
        guard format.blockAlign == format.channels * bytesPerSample else {
            throw .invalidHeader("block size \(format.blockAlign) for \(format.channels) channels of \(format.bits) bits")
        }
        let frames = dataRange.count / format.blockAlign
        let sampleCount = frames * format.channels
        let data = UnsafeRawBufferPointer(rebasing: bytes[dataRange])
        var file = WAVFile(samples: decode(data, count: sampleCount, as: sampleFormat), sampleRate: format.rate, channelCount: format.channels)
        file.storedFormat = sampleFormat
        return file
    }

    private static func decode(_ data: UnsafeRawBufferPointer, count: Int, as format: WAVSampleFormat) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch format {
            case .pcm8:
                for i in 0..<count { out[i] = (Float(data[i]) - 128) / 128 }
            case .pcm16:
                for i in 0..<count { out[i] = Float(Int16(bitPattern: data.loadLittleEndianUInt16(at: 2 * i))) / 32768 }
            case .pcm24:
                for i in 0..<count {
                    let raw = UInt32(data[3 * i]) << 8 | UInt32(data[3 * i + 1]) << 16 | UInt32(data[3 * i + 2]) << 24
                    out[i] = Float(Int32(bitPattern: raw) >> 8) / 8_388_608
                }
            case .pcm32:
                for i in 0..<count { out[i] = Float(Double(Int32(bitPattern: data.loadLittleEndianUInt32(at: 4 * i))) / 2_147_483_648) }
            case .float32:
                for i in 0..<count { out[i] = Float(bitPattern: data.loadLittleEndianUInt32(at: 4 * i)) }
            case .float64:
                for i in 0..<count { out[i] = Float(Double(bitPattern: data.loadLittleEndianUInt64(at: 8 * i))) }
            }
            initialized = count
        }
    }

    /// The file's bytes: RIFF header, `fmt ` chunk (extensible when `extensible` is true, or
    /// when nil and the file has more than 2 channels or more than 16 bits), `data` chunk.
    /// Samples are clamped to -1...1 for integer formats.
    package func encoded(as format: WAVSampleFormat = .pcm16, extensible: Bool? = nil) throws(WAVError) -> [UInt8] {
        guard (1...Self.maximumChannelCount).contains(channelCount) else { throw .invalidHeader("\(channelCount) channels") }
        guard sampleRate > 0, sampleRate <= Int(UInt32.max) else { throw .invalidHeader("sample rate \(sampleRate)") }
        guard samples.count % channelCount == 0 else { throw .invalidHeader("\(samples.count) samples is not a whole number of \(channelCount)-channel frames") }
        let bytesPerSample = format.bitsPerSample / 8
        let dataSize = samples.count * bytesPerSample
        guard dataSize <= WAVHeader.maximumDataSize else { throw .invalidHeader("\(dataSize) bytes of samples do not fit a RIFF file") }
        var bytes = WAVHeader.bytes(format: format, channelCount: channelCount, sampleRate: sampleRate, dataSize: dataSize, extensible: extensible)
        bytes.reserveCapacity(bytes.count + dataSize + 1)
        for sample in samples {
            switch format {
            case .pcm8: bytes.append(UInt8(Int(quantize(sample, scale: 128)) + 128))
            case .pcm16: bytes.appendLittleEndian(UInt16(bitPattern: Int16(quantize(sample, scale: 32768))))
            case .pcm24:
                let value = UInt32(bitPattern: Int32(quantize(sample, scale: 8_388_608)))
                bytes += [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value >> 16)]
            case .pcm32: bytes.appendLittleEndian(UInt32(bitPattern: Int32(quantize(sample, scale: 2_147_483_648))))
            case .float32: bytes.appendLittleEndian(sample.bitPattern)
            case .float64: bytes.appendLittleEndian(Double(sample).bitPattern)
            }
        }
        if dataSize & 1 == 1 { bytes.append(0) }
        return bytes
    }

    /// Writes the file to `path` (see `encoded(as:extensible:)`).
    package func write(to path: String, as format: WAVSampleFormat = .pcm16, extensible: Bool? = nil) throws(WAVError) {
        let bytes = try encoded(as: format, extensible: extensible)
        do { try Data(bytes).write(to: URL(fileURLWithPath: path)) } catch {
            throw .io(path: path, message: "cannot write: \(error.localizedDescription)")
        }
    }

    /// Rounds `sample * scale` to the nearest integer in -scale...scale-1 (NaN becomes 0).
    private func quantize(_ sample: Float, scale: Double) -> Int64 {
        guard !sample.isNaN else { return 0 }
        return Int64(min(max((Double(sample) * scale).rounded(), -scale), scale - 1))
    }
}
