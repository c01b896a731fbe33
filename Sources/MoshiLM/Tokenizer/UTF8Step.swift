/// One step of strict UTF-8 decoding over the bytes of byte pieces, with SentencePiece's rule
/// for bad input: a byte that does not start a complete, well-formed character (no overlong
/// forms, no surrogates, nothing above U+10FFFF) becomes U+FFFD on its own and decoding goes on
/// with the next byte.
enum UTF8Step: Equatable {
    /// A character of `length` bytes.
    case scalar(Unicode.Scalar, length: Int)
    /// The first byte cannot start a character here: emit U+FFFD and consume 1 byte.
    case invalid
    /// The bytes so far are the start of a valid character; more are needed to decide.
    case incomplete

    static let replacement: Unicode.Scalar = "\u{FFFD}"

    /// Decodes the character starting at `bytes.startIndex`. With `final`, no more bytes will come,
    /// so a character cut short is `.invalid` rather than `.incomplete`.
    static func next(_ bytes: ArraySlice<UInt8>, final: Bool) -> UTF8Step {
        guard let first = bytes.first else { return .incomplete }
        if first < 0x80 { return .scalar(Unicode.Scalar(first), length: 1) }
        let length: Int
        let secondRange: ClosedRange<UInt8>
        switch first {
        case 0xC2...0xDF: (length, secondRange) = (2, 0x80...0xBF)
        case 0xE0: (length, secondRange) = (3, 0xA0...0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (length, secondRange) = (3, 0x80...0xBF)
        case 0xED: (length, secondRange) = (3, 0x80...0x9F)
        case 0xF0: (length, secondRange) = (4, 0x90...0xBF)
        case 0xF1...0xF3: (length, secondRange) = (4, 0x80...0xBF)
        case 0xF4: (length, secondRange) = (4, 0x80...0x8F)
        default: return .invalid
        }
        var value = UInt32(first) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
        for k in 1..<length {
            let index = bytes.startIndex + k
            guard index < bytes.endIndex else { return final ? .invalid : .incomplete }
            let byte = bytes[index]
            guard (k == 1 ? secondRange : 0x80...0xBF).contains(byte) else { return .invalid }
            value = value << 6 | UInt32(byte & 0x3F)
        }
        guard let scalar = Unicode.Scalar(value) else { return .invalid }
        return .scalar(scalar, length: length)
    }

    /// Decodes as much of `bytes` as can be decided (all of it with `final`), appending the
    /// characters to `text`; returns how many bytes were consumed.
    static func drain(_ bytes: ArraySlice<UInt8>, final: Bool, into text: inout String.UnicodeScalarView) -> Int {
        var position = bytes.startIndex
        while position < bytes.endIndex {
            switch next(bytes[position...], final: final) {
            case .scalar(let scalar, let length):
                text.append(scalar)
                position += length
            case .invalid:
                text.append(replacement)
                position += 1
            case .incomplete:
                return position - bytes.startIndex
            }
        }
        return position - bytes.startIndex
    }
}
