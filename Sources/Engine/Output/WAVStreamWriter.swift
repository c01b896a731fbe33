#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a WAV file as audio arrives: a RIFF header with placeholder sizes, then the samples
/// appended frame by frame (one `write(2)` each, converted in a buffer allocated once), then
/// the sizes patched in by `close`. 16-bit PCM or 32-bit float, interleaved channels.
///
/// A file whose writer never closed still reads (AudioIO's `WAVFile` takes a zero data size
/// as "up to the end of the file").
public final class WAVStreamWriter {
    /// How samples are stored.
    public enum Encoding: Sendable, Equatable {
        case pcm16
        case float32

        var bytesPerSample: Int { self == .pcm16 ? 2 : 4 }
    }

    public let path: String
    public let sampleRate: Int
    public let channelCount: Int
    public let encoding: Encoding
    /// Frames (one sample per channel) written so far.
    public private(set) var framesWritten = 0

    private var descriptor: Int32
    private var buffer: UnsafeMutableRawPointer
    private var bufferFrames: Int
    private static let headerSize = 44

    /// Creates (or truncates) `path` and writes the header. `maximumFramesPerWrite` sizes the
    /// conversion buffer (a larger write is split).
    public init(path: String, sampleRate: Int = FrameTiming.sampleRate, channelCount: Int = 1, encoding: Encoding = .pcm16,
                maximumFramesPerWrite: Int = FrameTiming.samplesPerFrame) throws(AudioSinkError) {
        guard (1...64).contains(channelCount), sampleRate > 0 else {
            throw AudioSinkError(target: path, message: "cannot write \(channelCount) channels at \(sampleRate) Hz")
        }
        self.path = path
        self.sampleRate = sampleRate
        self.channelCount = channelCount
        self.encoding = encoding
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw AudioSinkError(target: path, message: "cannot create: \(String(cString: strerror(errno)))") }
        bufferFrames = max(1, maximumFramesPerWrite)
        buffer = .allocate(byteCount: bufferFrames * channelCount * encoding.bytesPerSample, alignment: 16)
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
    public func write(_ samples: UnsafePointer<Float>, frames: Int) throws(AudioSinkError) {
        guard descriptor >= 0 else { throw AudioSinkError(target: path, message: "written after close") }
        var done = 0
        while done < frames {
            let chunk = min(bufferFrames, frames - done)
            let count = chunk * channelCount
            let source = samples + done * channelCount
            switch encoding {
            case .pcm16:
                let out = buffer.assumingMemoryBound(to: Int16.self)
                for i in 0..<count { out[i] = Int16(littleEndian: Self.int16(source[i])) }
            case .float32:
                let out = buffer.assumingMemoryBound(to: UInt32.self)
                for i in 0..<count { out[i] = source[i].bitPattern.littleEndian }
            }
            try writeAll(UnsafeRawPointer(buffer), count: count * encoding.bytesPerSample)
            done += chunk
            framesWritten += chunk
        }
    }

    /// Patches the RIFF and data sizes and closes the file. Later calls do nothing.
    public func close() throws(AudioSinkError) {
        guard descriptor >= 0 else { return }
        defer {
            systemClose(descriptor)
            descriptor = -1
        }
        let dataBytes = framesWritten * channelCount * encoding.bytesPerSample
        guard dataBytes + Self.headerSize - 8 <= Int(UInt32.max) else {
            throw AudioSinkError(target: path, message: "more than 4 GiB of audio: too long for a WAV file")
        }
        let header = header(dataBytes: dataBytes)
        guard lseek(descriptor, 0, SEEK_SET) == 0 else { throw AudioSinkError(target: path, message: "cannot seek: \(String(cString: strerror(errno)))") }
        try writeAll(header)
    }

    private func header(dataBytes: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.headerSize)
        func append(_ text: String) { bytes += Array(text.utf8) }
        func append32(_ value: Int) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian) { bytes += $0 } }
        func append16(_ value: Int) { withUnsafeBytes(of: UInt16(truncatingIfNeeded: value).littleEndian) { bytes += $0 } }
        let bytesPerSample = encoding.bytesPerSample
        append("RIFF"); append32(36 + dataBytes); append("WAVE")
        append("fmt "); append32(16); append16(encoding == .pcm16 ? 1 : 3); append16(channelCount)
        append32(sampleRate); append32(sampleRate * channelCount * bytesPerSample)
        append16(channelCount * bytesPerSample); append16(bytesPerSample * 8)
        append("data"); append32(dataBytes)
        return bytes
    }

    private func writeAll(_ bytes: [UInt8]) throws(AudioSinkError) {
        let failure: Int32? = bytes.withUnsafeBytes { raw in writeFully(raw.baseAddress!, count: raw.count) }
        if let failure { throw AudioSinkError(target: path, message: "cannot write: \(String(cString: strerror(failure)))") }
    }

    private func writeAll(_ bytes: UnsafeRawPointer, count: Int) throws(AudioSinkError) {
        if let failure = writeFully(bytes, count: count) {
            throw AudioSinkError(target: path, message: "cannot write: \(String(cString: strerror(failure)))")
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
