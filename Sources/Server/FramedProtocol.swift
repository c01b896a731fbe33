/// Constants of the framed protocol (Docs/PROTOCOL.md): a 5-byte preamble, then messages of
/// `kind` (1 byte, Kyutai's numbering) + `length` (u32 big-endian) + `length` payload bytes.
package enum FramedProtocol {
    /// The first four bytes each side sends: ASCII "MOSH".
    package static let magic: [UInt8] = Array("MOSH".utf8)
    /// The protocol version, the fifth byte of the preamble.
    package static let version: UInt8 = 1
    /// Preamble length: magic + version.
    package static let preambleLength = 5
    /// Message header length: kind + u32 length.
    package static let headerLength = 5
    /// The default largest payload accepted (`ServerConfiguration.maximumMessageBytes`).
    package static let defaultMaximumPayload = 64 * 1024

    /// The preamble bytes: "MOSH" + version.
    package static var preamble: [UInt8] { magic + [version] }

    /// One message's bytes: header + payload.
    package static func encode(_ kind: MessageKind, payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(headerLength + payload.count)
        bytes.append(kind.rawValue)
        let length = UInt32(payload.count)
        bytes.append(UInt8(truncatingIfNeeded: length >> 24))
        bytes.append(UInt8(truncatingIfNeeded: length >> 16))
        bytes.append(UInt8(truncatingIfNeeded: length >> 8))
        bytes.append(UInt8(truncatingIfNeeded: length))
        bytes += payload
        return bytes
    }

    /// A text-carrying message (text, error, metadata JSON).
    package static func encode(_ kind: MessageKind, text: String) -> [UInt8] {
        encode(kind, payload: Array(text.utf8))
    }
}

/// One message of the framed protocol.
package struct FramedMessage: Sendable, Equatable {
    package var kind: MessageKind
    package var payload: [UInt8]
    package init(kind: MessageKind, payload: [UInt8]) {
        self.kind = kind
        self.payload = payload
    }
    /// The payload as UTF-8 text (invalid sequences repaired).
    package var text: String { String(decoding: payload, as: UTF8.self) }
}

/// Why a framed stream was refused; the server sends `description` in an error message.
package enum FramedProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The first four bytes are not "MOSH".
    case badMagic([UInt8])
    /// A version this server does not speak.
    case unsupportedVersion(UInt8)
    /// A kind byte outside Kyutai's numbering (0...6).
    case unknownKind(UInt8)
    /// A length over the limit.
    case messageTooLarge(length: UInt32, limit: Int)
    /// The stream ended inside a message (`bytes` of it had arrived).
    case truncated(bytes: Int)

    package var description: String {
        switch self {
        case .badMagic(let bytes): "not the framed protocol: the stream starts with \(bytes.map(hexByte).joined(separator: " ")), not \"MOSH\""
        case .unsupportedVersion(let v): "unsupported protocol version \(v) (this server speaks version \(FramedProtocol.version))"
        case .unknownKind(let k): "unknown message kind \(k) (kinds are 0...6)"
        case .messageTooLarge(let length, let limit): "message of \(length) bytes exceeds the limit of \(limit) bytes"
        case .truncated(let bytes): "the stream ended inside a message (\(bytes) bytes of it received)"
        }
    }
}

/// Parses the framed protocol from bytes pushed as they arrive: first the preamble, then
/// messages. Memory is bounded by `maximumPayload` plus what was pushed and not parsed; any
/// byte sequence gives messages or a `FramedProtocolError`, never a trap. After an error the
/// decoder stays failed (the connection is to be closed).
package struct FramedDecoder: Sendable {
    /// The largest payload accepted.
    package let maximumPayload: Int
    /// Whether the preamble has been read and accepted.
    package private(set) var readPreamble = false
    private var buffer: [UInt8] = []
    private var start = 0
    private var failure: FramedProtocolError?

    package init(maximumPayload: Int = FramedProtocol.defaultMaximumPayload) {
        self.maximumPayload = maximumPayload
    }

    /// Bytes received and not yet returned as a message.
    package var pendingBytes: Int { buffer.count - start }

    /// Appends received bytes.
    package mutating func push<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete message, or nil when more bytes are needed.
    package mutating func next() throws(FramedProtocolError) -> FramedMessage? {
        if let failure { throw failure }
        do {
            return try parse()
        } catch {
            failure = error
            throw error
        }
    }

    /// Call at the end of the stream: throws `.truncated` when a message was cut off.
    package func finish() throws(FramedProtocolError) {
        if let failure { throw failure }
        if pendingBytes > 0 { throw .truncated(bytes: pendingBytes) }
    }

    private mutating func parse() throws(FramedProtocolError) -> FramedMessage? {
        if !readPreamble {
            let available = pendingBytes
            // Reject a wrong magic as soon as its first differing byte arrives.
            for i in 0..<min(available, FramedProtocol.magic.count) where buffer[start + i] != FramedProtocol.magic[i] {
                throw .badMagic(Array(buffer[start..<(start + min(available, 4))]))
            }
            guard available >= FramedProtocol.preambleLength else { return nil }
            let version = buffer[start + 4]
            guard version == FramedProtocol.version else { throw .unsupportedVersion(version) }
            start += FramedProtocol.preambleLength
            readPreamble = true
        }
        guard pendingBytes >= 1 else { return nil }
        let kindByte = buffer[start]
        guard let kind = MessageKind(rawValue: kindByte) else { throw .unknownKind(kindByte) }
        guard pendingBytes >= FramedProtocol.headerLength else { return nil }
        var length: UInt32 = 0
        for i in 1...4 { length = length << 8 | UInt32(buffer[start + i]) }
        guard length <= UInt32(maximumPayload) else { throw .messageTooLarge(length: length, limit: maximumPayload) }
        let total = FramedProtocol.headerLength + Int(length)
        guard pendingBytes >= total else { return nil }
        let payload = Array(buffer[(start + FramedProtocol.headerLength)..<(start + total)])
        start += total
        return FramedMessage(kind: kind, payload: payload)
    }
}

private func hexByte(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}
