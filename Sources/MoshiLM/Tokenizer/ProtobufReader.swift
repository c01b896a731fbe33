/// A bounded reader of the protobuf wire format (varint, 64-bit, length-delimited, 32-bit),
/// enough to walk a serialized message field by field without generated code.
///
/// Every read checks the bytes left in the current message first: running out is a
/// `.truncated` error, a varint longer than 10 bytes or a group / unknown wire type is
/// `.malformed`; both name the file and the byte offset.
struct ProtobufReader {
    /// The wire types of the protobuf encoding (groups, 3 and 4, are deprecated and rejected).
    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    /// One field's key: its number and how its value is encoded.
    struct FieldKey {
        let number: Int
        let wireType: WireType
    }

    private let bytes: [UInt8]
    private let file: String
    private(set) var position: Int
    private let end: Int

    /// A reader over `bytes[range]` (the whole array by default).
    init(_ bytes: [UInt8], file: String, range: Range<Int>? = nil) {
        self.bytes = bytes
        self.file = file
        let range = range ?? 0..<bytes.count
        self.position = range.lowerBound
        self.end = range.upperBound
    }

    var isAtEnd: Bool { position >= end }

    /// The next field's key, or nil at the end of the message.
    mutating func nextField() throws(SentencePieceError) -> FieldKey? {
        guard !isAtEnd else { return nil }
        let at = position
        let key = try readVarint()
        let number = key >> 3
        guard number >= 1, number <= 536_870_911 else {
            throw SentencePieceError(.malformed, file: file, "invalid protobuf field number \(number) at byte \(at)")
        }
        guard let wireType = WireType(rawValue: UInt8(key & 7)) else {
            throw SentencePieceError(.malformed, file: file, "unsupported protobuf wire type \(key & 7) (field \(number)) at byte \(at)")
        }
        return FieldKey(number: Int(number), wireType: wireType)
    }

    /// A base-128 varint of at most 10 bytes.
    mutating func readVarint() throws(SentencePieceError) -> UInt64 {
        let start = position
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else {
                throw SentencePieceError(.truncated, file: file, "protobuf varint at byte \(start) runs past the end of its message (byte \(end))")
            }
            let byte = bytes[position]
            position += 1
            if shift == 63, byte > 1 {
                throw SentencePieceError(.malformed, file: file, "protobuf varint at byte \(start) is longer than 10 bytes or overflows 64 bits")
            }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7  // reaches 63 at the 10th byte, which may only hold bit 63 (checked above)
        }
    }

    mutating func readFixed32() throws(SentencePieceError) -> UInt32 {
        try need(4, "32-bit value")
        var value: UInt32 = 0
        for k in 0..<4 { value |= UInt32(bytes[position + k]) << (8 * UInt32(k)) }
        position += 4
        return value
    }

    mutating func readFixed64() throws(SentencePieceError) -> UInt64 {
        try need(8, "64-bit value")
        var value: UInt64 = 0
        for k in 0..<8 { value |= UInt64(bytes[position + k]) << (8 * UInt64(k)) }
        position += 8
        return value
    }

    /// The byte range of a length-delimited value (a string, bytes or an embedded message).
    mutating func readLengthDelimited() throws(SentencePieceError) -> Range<Int> {
        let at = position
        let length = try readVarint()
        guard length <= UInt64(end - position) else {
            throw SentencePieceError(.truncated, file: file,
                "protobuf length-delimited field at byte \(at) announces \(length) bytes but its message has \(end - position) left")
        }
        let range = position..<(position + Int(length))
        position = range.upperBound
        return range
    }

    /// A reader over an embedded message's bytes.
    func subReader(_ range: Range<Int>) -> ProtobufReader {
        ProtobufReader(bytes, file: file, range: range)
    }

    /// The bytes of a range read with `readLengthDelimited`.
    func slice(_ range: Range<Int>) -> ArraySlice<UInt8> { bytes[range] }

    /// Skips a field's value of the given wire type.
    mutating func skip(_ wireType: WireType) throws(SentencePieceError) {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed64: _ = try readFixed64()
        case .fixed32: _ = try readFixed32()
        case .lengthDelimited: _ = try readLengthDelimited()
        }
    }

    private func need(_ count: Int, _ what: String) throws(SentencePieceError) {
        guard end - position >= count else {
            throw SentencePieceError(.truncated, file: file,
                "protobuf \(what) at byte \(position) needs \(count) bytes but its message has \(end - position) left")
        }
    }
}
