/// Why a WAV file could not be read or written.
package enum WAVError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes do not start with a RIFF/WAVE header.
    case notWAV(String)
    /// The header is there but inconsistent (zero channels, a block size that does not match...).
    case invalidHeader(String)
    /// A sample encoding we do not read (format tag, bits per sample).
    case unsupportedEncoding(formatTag: UInt16, bitsPerSample: Int)
    /// The file ends before the data its header announces.
    case truncated(String)
    /// Reading or writing the file failed.
    case io(path: String, message: String)

    package var description: String {
        switch self {
        case .notWAV(let why): "not a WAV file: \(why)"
        case .invalidHeader(let why): "invalid WAV header: \(why)"
        case .unsupportedEncoding(let tag, let bits): "unsupported WAV encoding: format tag 0x\(String(tag, radix: 16)), \(bits) bits per sample (PCM 8/16/24/32-bit and float 32/64-bit are supported)"
        case .truncated(let why): "truncated WAV file: \(why)"
        case .io(let path, let message): "\(path): \(message)"
        }
    }
}
