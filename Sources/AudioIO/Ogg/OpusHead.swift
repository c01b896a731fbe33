import Foundation

/// The Ogg Opus identification header, the first packet of a stream (RFC 7845 §5.1).
package struct OpusHead: Sendable, Equatable {
    /// Header version; we write 1 and read any version whose major nibble is 0.
    package var version: UInt8 = 1
    /// Output channels (1 for our mono streams).
    package var channelCount: Int = 1
    /// Samples at 48 kHz to drop from the start of the decoded output (the encoder's lookahead).
    package var preSkip: Int
    /// The rate of the original input in Hz; informational, playback may use any Opus rate.
    package var inputSampleRate: Int = 24000
    /// Gain to apply on output, in dB as Q7.8 fixed point (256 = +1 dB).
    package var outputGainQ8: Int16 = 0
    /// Channel mapping family: 0 for mono or stereo in one Opus stream.
    package var mappingFamily: UInt8 = 0

    /// The 8-byte magic signature that starts the packet.
    package static let magic: [UInt8] = Array("OpusHead".utf8)

    package init(channelCount: Int = 1, preSkip: Int, inputSampleRate: Int = 24000, outputGainQ8: Int16 = 0) {
        self.channelCount = channelCount
        self.preSkip = preSkip
        self.inputSampleRate = inputSampleRate
        self.outputGainQ8 = outputGainQ8
    }

    /// Parses an identification header; nil when `packet` is not a well-formed OpusHead.
    package init?(packet: UnsafeRawBufferPointer) {
        guard packet.count >= 19, packet.prefix(8).elementsEqual(Self.magic) else { return nil }
        version = packet[8]
        guard version & 0xF0 == 0 else { return nil }  // an incompatible major version
        channelCount = Int(packet[9])
        preSkip = Int(packet.loadLittleEndianUInt16(at: 10))
        inputSampleRate = Int(packet.loadLittleEndianUInt32(at: 12))
        outputGainQ8 = Int16(bitPattern: packet.loadLittleEndianUInt16(at: 16))
        mappingFamily = packet[18]
        guard channelCount > 0 else { return nil }
        if mappingFamily == 0 {
            guard channelCount <= 2 else { return nil }
        } else {
            // Families other than 0 carry a mapping table (stream count, coupled count, one byte per channel).
            guard packet.count >= 21 + channelCount else { return nil }
        }
    }

    /// The serialized packet (family 0: 19 bytes).
    package var packet: [UInt8] {
        var bytes = Self.magic
        bytes.append(version)
        bytes.append(UInt8(clamping: channelCount))
        bytes.appendLittleEndian(UInt16(clamping: preSkip))
        bytes.appendLittleEndian(UInt32(clamping: inputSampleRate))
        bytes.appendLittleEndian(UInt16(bitPattern: outputGainQ8))
        bytes.append(mappingFamily)
        return bytes
    }

    /// The linear factor the output gain asks for: 10^(gain / (20 * 256)).
    package var outputGainFactor: Float {
        outputGainQ8 == 0 ? 1 : Float(pow(10, Double(outputGainQ8) / (20 * 256)))
    }
}

/// The Ogg Opus comment header, the second packet of a stream (RFC 7845 §5.2).
package struct OpusTags: Sendable, Equatable {
    /// The encoder's name; we write "SwiftMoshi".
    package var vendor: String
    /// User comments, each "KEY=value".
    package var comments: [String]

    /// The 8-byte magic signature that starts the packet.
    package static let magic: [UInt8] = Array("OpusTags".utf8)

    package init(vendor: String = "SwiftMoshi", comments: [String] = []) {
        self.vendor = vendor
        self.comments = comments
    }

    /// The serialized packet: magic, vendor string, comment count and length-prefixed comments.
    package var packet: [UInt8] {
        var bytes = Self.magic
        let vendorBytes = Array(vendor.utf8)
        bytes.appendLittleEndian(UInt32(vendorBytes.count))
        bytes += vendorBytes
        bytes.appendLittleEndian(UInt32(comments.count))
        for comment in comments {
            let commentBytes = Array(comment.utf8)
            bytes.appendLittleEndian(UInt32(commentBytes.count))
            bytes += commentBytes
        }
        return bytes
    }

    /// Whether `packet` starts with the OpusTags signature.
    static func isTags(_ packet: UnsafeRawBufferPointer) -> Bool {
        packet.count >= 8 && packet.prefix(8).elementsEqual(magic)
    }
}
