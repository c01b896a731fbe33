/// Why an Ogg Opus stream could not be written or read.
package enum OggOpusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A libogg call reported failure (`ogg_stream_init`, `ogg_stream_packetin`, ...).
    case libogg(call: String)
    /// A packet was written after the end-of-stream page.
    case writeAfterEndOfStream
    /// The bytes held no Ogg page whose first packet is an OpusHead.
    case noOpusStream
    /// The stream needs a multichannel (multistream) decoder we do not have.
    case unsupportedChannelMapping(family: UInt8, channelCount: Int)
    /// An Opus packet whose table-of-contents byte libopus rejects.
    case invalidPacket(OpusError)

    package var description: String {
        switch self {
        case .libogg(let call): "libogg: \(call) failed"
        case .writeAfterEndOfStream: "Ogg Opus: packet written after the end-of-stream page"
        case .noOpusStream: "no Ogg Opus stream found (no OpusHead packet on a beginning-of-stream page)"
        case .unsupportedChannelMapping(let family, let channels): "Ogg Opus: channel mapping family \(family) with \(channels) channels is not supported (mono or stereo, family 0)"
        case .invalidPacket(let error): "Ogg Opus: invalid Opus packet: \(error.message)"
        }
    }
}
