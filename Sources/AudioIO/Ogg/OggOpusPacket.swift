/// One Opus audio packet pulled out of an Ogg Opus stream by `OggOpusReader`.
package struct OggOpusPacket: Sendable, Equatable {
    /// The Opus packet (TOC byte first).
    package var data: [UInt8]
    /// The page's granule position (48 kHz, pre-skip included) when this is the last packet
    /// completed on its page; nil for the others (RFC 7845 §4).
    package var granulePosition: Int64?
    /// Whether this is the last packet of an end-of-stream page: its granule position marks
    /// where the decoded audio ends (samples past it are padding).
    package var endOfStream: Bool
    /// Whether a page was missing (sequence gap) or a packet was dropped just before this one.
    package var followsGap: Bool
    /// Which logical stream (0, 1, ... for chained streams) the packet belongs to; the decoder
    /// resets when it changes.
    package var streamNumber: Int
}
