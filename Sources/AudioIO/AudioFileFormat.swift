/// How `AudioFile.write` stores audio.
package enum AudioFileFormat: Sendable, Equatable {
    /// A WAV file with the given sample format.
    case wav(WAVSampleFormat)
    /// An Ogg Opus file (24 kHz mono Opus, VOIP mode) at the given bitrate and packet duration.
    case oggOpus(bitrate: Int, frameDuration: OpusFrameDuration)

    /// 16-bit WAV for `.wav`, 32 kb/s Ogg Opus in 20 ms packets for `.ogg` and `.opus`.
    package static func forExtension(of path: String) throws(AudioFileError) -> AudioFileFormat {
        switch try AudioFileKind(path: path) {
        case .wav: .wav(.pcm16)
        case .oggOpus: .oggOpus(bitrate: 32000, frameDuration: .ms20)
        }
    }
}

/// The container an audio file uses, chosen by its extension.
package enum AudioFileKind: Sendable, Equatable {
    /// `.wav`
    case wav
    /// `.ogg` or `.opus`
    case oggOpus

    /// The kind for `path`'s extension (case-insensitive).
    package init(path: String) throws(AudioFileError) {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let ext = name.contains(".") ? String(name.split(separator: ".").last ?? "").lowercased() : ""
        switch ext {
        case "wav", "wave": self = .wav
        case "ogg", "opus", "oga": self = .oggOpus
        default: throw .unsupportedExtension(path: path)
        }
    }
}

/// Why `AudioFile` could not read or write a file.
package enum AudioFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The extension is none of .wav, .ogg, .opus.
    case unsupportedExtension(path: String)
    /// Reading or writing the file failed.
    case io(path: String, message: String)
    /// The samples and channel count do not match, or the rate is unusable.
    case invalidAudio(String)

    package var description: String {
        switch self {
        case .unsupportedExtension(let path): "\(path): unsupported audio file extension (use .wav, .ogg or .opus)"
        case .io(let path, let message): "\(path): \(message)"
        case .invalidAudio(let why): "invalid audio: \(why)"
        }
    }
}
