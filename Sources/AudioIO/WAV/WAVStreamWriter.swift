#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a WAV file as audio arrives: a RIFF header with placeholder sizes (`WAVHeader`, as
/// `WAVFile` writes it), then the samples appended block by block (one `write(2)` each,
/// converted in a buffer allocated once), then the sizes patched in by `close`. 16-bit PCM or
/// 32-bit float, interleaved channels. Writing allocates nothing.
///
/// A file whose writer never closed still reads (`WAVFile` takes a zero data size as "up to
/// the end of the file").
package final class WAVStreamWriter {
    /// The sample formats it streams.
    package static let supportedFormats: [WAVSampleFormat] = [.pcm16, .float32]

    package let path: String
    package let sampleRate: Int
    package let channelCount: Int
    package let encoding: WAVSampleFormat
    /// Frames (one sample per channel) written so far.
    package private(set) var framesWritten = 0

    private var descriptor: Int32
    private var buffer: UnsafeMutableRawPointer
    private var bufferFrames: Int
    private let headerSize: Int
    private var bytesPerSample: Int { encoding.bitsPerSample / 8 }

    /// Creates (or truncates) `path` and writes the header. `maximumFramesPerWrite` sizes the
    /// conversion buffer (a larger write is split).
    package init(path: String, sampleRate: Int = 24_000, channelCount: Int = 1, encoding: WAVSampleFormat = .pcm16,
                maximumFramesPerWrite: Int = 1920) throws(WAVError) {
        guard (1...WAVFile.maximumChannelCount).contains(channelCount), sampleRate > 0, sampleRate <= Int(UInt32.max) else {
            throw .invalidHeader("cannot write \(channelCount) channels at \(sampleRate) Hz")
        }
        guard Self.supportedFormats.contains(encoding) else {
            throw .invalidHeader("\(encoding) is not streamed (16-bit PCM or 32-bit float)")
        }
        self.path = path
        self.sampleRate = sampleRate
        self.channelCount = channelCount
        self.encoding = encoding
        headerSize = WAVHeader.bytes(format: encoding, channelCount: channelCount, sampleRate: sampleRate, dataSize: 0).count
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .io(path: path, message: "cannot create: \(String(cString: strerror(errno)))") }
        bufferFrames = max(1, maximumFramesPerWrite)
        buffer = .allocate(byteCount: bufferFrames * channelCount * (encoding.bitsPerSample / 8), alignment: 16)
        do { try writeAll(header(dataBytes: 0)) } catch {
            systemClose(descriptor)
            descriptor = -1
            buffer.deallocate()
            throw error
        }
    }

    deinit {
        if descriptor >= 0 { try? close() }
        buffer.deallocate()
    }

    /// Appends `frames` frames of interleaved samples (`frames * channelCount` floats).
    package func write(_ samples: UnsafePointer<Float>, frames: Int) throws(WAVError) {
        guard descriptor >= 0 else { throw .io(path: path, message: "written after close") }
        var done = 0
        while done < frames {
            let chunk = min(bufferFrames, frames - done)
            let count = chunk * channelCount
            let source = samples + done * channelCount
            switch encoding {
            case .pcm16:
                let out = buffer.assumingMemoryBound(to: Int16.self)
                for i in 0..<count { out[i] = Int16(littleEndian: Self.int16(source[i])) }
            default:
                let out = buffer.assumingMemoryBound(to: UInt32.self)
                for i in 0..<count { out[i] = source[i].bitPattern.littleEndian }
            }
            try writeAll(UnsafeRawPointer(buffer), count: count * bytesPerSample)
            done += chunk
            framesWritten += chunk
        }
    }

    /// Patches the RIFF and data sizes and closes the file. Later calls do nothing.
    package func close() throws(WAVError) {
        guard descriptor >= 0 else { return }
        defer {
            systemClose(descriptor)
            descriptor = -1
        }
        let dataBytes = framesWritten * channelCount * bytesPerSample
        guard dataBytes <= WAVHeader.maximumDataSize else {
            throw .io(path: path, message: "more than 4 GiB of audio: too long for a WAV file")
        }
        let header = header(dataBytes: dataBytes)
        guard lseek(descriptor, 0, SEEK_SET) == 0 else { throw .io(path: path, message: "cannot seek: \(String(cString: strerror(errno)))") }
        try writeAll(header)
    }

    private func header(dataBytes: Int) -> [UInt8] {
        let bytes = WAVHeader.bytes(format: encoding, channelCount: channelCount, sampleRate: sampleRate, dataSize: dataBytes)
        assert(bytes.count == headerSize)
        return bytes
    }

    private func writeAll(_ bytes: [UInt8]) throws(WAVError) {
        let failure: Int32? = bytes.withUnsafeBytes { raw in writeFully(raw.baseAddress!, count: raw.count) }
        if let failure { throw .io(path: path, message: "cannot write: \(String(cString: strerror(failure)))") }
    }

    private func writeAll(_ bytes: UnsafeRawPointer, count: Int) throws(WAVError) {
        if let failure = writeFully(bytes, count: count) {
            throw .io(path: path, message: "cannot write: \(String(cString: strerror(failure)))")
        }
    }

    /// write(2) until done; the errno of a failure.
    private func writeFully(_ bytes: UnsafeRawPointer, count: Int) -> Int32? {
        var written = 0
        while written < count {
            let result = systemWrite(descriptor, bytes + written, count - written)
            if result < 0 {
                if errno == EINTR { continue }
                return errno
            }
            written += result
        }
        return nil
    }

    @inline(__always)
    static func int16(_ sample: Float) -> Int16 {
        let scaled = (sample * 32768).rounded()
        return scaled >= 32767 ? 32767 : scaled <= -32768 ? -32768 : scaled.isNaN ? 0 : Int16(scaled)
    }
}

private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int { write(descriptor, bytes, count) }
private func systemClose(_ descriptor: Int32) { _ = close(descriptor) }
