/// A JSON syntax error: what was expected, and the byte offset in the JSON text.
struct JSONError: Error {
    let message: String
    let offset: Int
}

/// A pull parser for JSON text (RFC 8259) that builds nothing it is not asked for: the caller
/// walks objects and arrays and reads the values it wants; everything else is skipped and only
/// validated. Nesting deeper than `maxDepth` is an error, so hostile input cannot exhaust the
/// stack, and no value is ever materialized wholesale, so it cannot allocate hugely either.
///
///     var object = try reader.beginObject()
///     while let key = try reader.nextKey(in: &object) { ... read or skip the value ... }
struct JSONReader {
    /// Deeper nesting than this is rejected; safetensors headers nest 3 deep.
    static let maxDepth = 64

    /// Where the caller is inside one object or array (between `begin` and the `nil`/`false`
    /// that ends the walk).
    struct Container {
        fileprivate var isFirst = true
    }

    private let text: UnsafeRawBufferPointer
    private(set) var position = 0
    private var depth = 0

    init(_ text: UnsafeRawBufferPointer) {
        self.text = text
    }

    // MARK: Objects and arrays

    mutating func beginObject() throws(JSONError) -> Container {
        try open("{", "an object")
        return Container()
    }

    /// The next key of the object, positioned at its value; `nil` after the closing brace.
    mutating func nextKey(in container: inout Container) throws(JSONError) -> String? {
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return nil
        }
        if !container.isFirst { try expect(",", "',' or '}' in an object") }
        container.isFirst = false
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw fail("expected a string key") }
        let key = try readString()
        skipWhitespace()
        try expect(":", "':' after an object key")
        return key
    }

    mutating func beginArray() throws(JSONError) -> Container {
        try open("[", "an array")
        return Container()
    }

    /// Whether another element follows (positioned at it); `false` after the closing bracket.
    mutating func nextElement(in container: inout Container) throws(JSONError) -> Bool {
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return false
        }
        if !container.isFirst { try expect(",", "',' or ']' in an array") }
        container.isFirst = false
        return true
    }

    // MARK: Scalars

    /// Reads a string value, unescaping it; the result must be valid UTF-8.
    mutating func readString() throws(JSONError) -> String {
        skipWhitespace()
        let start = position
        try expect("\"", "a string")
        var unescaped: [UInt8] = []
        var runStart = position
        while true {
            guard let byte = peek() else { throw fail("unterminated string", at: start) }
            if byte == UInt8(ascii: "\"") {
                let run = UnsafeRawBufferPointer(rebasing: text[runStart..<position])
                position += 1
                if unescaped.isEmpty, let plain = String(validating: run, as: UTF8.self) { return plain }
                unescaped.append(contentsOf: run)
                guard let string = String(validating: unescaped, as: UTF8.self) else {
                    throw fail("string is not valid UTF-8", at: start)
                }
                return string
            }
            if byte < 0x20 { throw fail("control character in a string") }
            if byte == UInt8(ascii: "\\") {
                unescaped.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[runStart..<position]))
                position += 1
                try readEscape(into: &unescaped)
                runStart = position
                continue
            }
            position += 1
        }
    }

    /// Reads a number that must be an integer (no fraction, no exponent) that fits in `Int`.
    mutating func readInteger() throws(JSONError) -> Int {
        skipWhitespace()
        let start = position
        let isNegative = peek() == UInt8(ascii: "-")
        if isNegative { position += 1 }
        guard let first = peek(), isDigit(first) else { throw fail("expected an integer", at: start) }
        var value = 0
        var overflow = false
        while let digit = peek(), isDigit(digit) {
            position += 1
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = isNegative
                ? shifted.subtractingReportingOverflow(Int(digit - UInt8(ascii: "0")))
                : shifted.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            overflow = overflow || o1 || o2
            value = next
        }
        if first == UInt8(ascii: "0"), position - start > (isNegative ? 2 : 1) {
            throw fail("leading zero in a number", at: start)
        }
        if let next = peek(), next == UInt8(ascii: ".") || next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
            throw fail("expected an integer, found a fraction or exponent", at: start)
        }
        if overflow { throw fail("integer does not fit in 64 bits", at: start) }
        return value
    }

    /// Reads a number of any form (fraction, exponent) as a `Double`.
    mutating func readNumber() throws(JSONError) -> Double {
        skipWhitespace()
        let start = position
        try skipNumber()
        let digits = String(decoding: UnsafeRawBufferPointer(rebasing: text[start..<position]), as: UTF8.self)
        guard let value = Double(digits), value.isFinite else { throw fail("number out of range", at: start) }
        return value
    }

    /// Reads `true` or `false`.
    mutating func readBool() throws(JSONError) -> Bool {
        skipWhitespace()
        if peek() == UInt8(ascii: "t") { try literal("true"); return true }
        try literal("false")
        return false
    }

    /// Reads `null`.
    mutating func readNull() throws(JSONError) {
        skipWhitespace()
        try literal("null")
    }

    /// Skips one value of any kind, checking its syntax.
    mutating func skipValue() throws(JSONError) {
        skipWhitespace()
        guard let byte = peek() else { throw fail("expected a value, found the end of the text") }
        switch byte {
        case UInt8(ascii: "{"):
            var object = try beginObject()
            while try nextKey(in: &object) != nil { try skipValue() }
        case UInt8(ascii: "["):
            var array = try beginArray()
            while try nextElement(in: &array) { try skipValue() }
        case UInt8(ascii: "\""):
            _ = try readString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: try skipNumber()
        }
    }

    /// What comes next, without consuming it: the kind of value, for schema-driven callers.
    mutating func peekKind() -> UInt8? {
        skipWhitespace()
        return peek()
    }

    /// Fails unless only whitespace remains.
    mutating func expectEnd() throws(JSONError) {
        skipWhitespace()
        if position < text.count { throw fail("unexpected text after the top-level value") }
    }

    // MARK: Pieces

    private mutating func open(_ bracket: Unicode.Scalar, _ what: String) throws(JSONError) {
        skipWhitespace()
        guard peek() == UInt8(ascii: bracket) else { throw fail("expected \(what)") }
        guard depth < Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth) levels") }
        position += 1
        depth += 1
    }

    private mutating func readEscape(into out: inout [UInt8]) throws(JSONError) {
        guard let byte = peek() else { throw fail("unterminated escape") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(byte)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard peek() == UInt8(ascii: "\\") else { throw fail("unpaired surrogate in \\u escape") }
                position += 1
                guard peek() == UInt8(ascii: "u") else { throw fail("unpaired surrogate in \\u escape") }
                position += 1
                let low = try readHex4()
                guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate in \\u escape") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw fail("unpaired surrogate in \\u escape") }
            out.append(contentsOf: String(Character(unicode)).utf8)
        default:
            throw fail("invalid escape '\\\(Character(Unicode.Scalar(byte)))'", at: position - 2)
        }
    }

    private mutating func readHex4() throws(JSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek() else { throw fail("unterminated \\u escape") }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("bad hex digit in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private mutating func skipNumber() throws(JSONError) {
        let start = position
        if peek() == UInt8(ascii: "-") { position += 1 }
        let leadsWithZero = peek() == UInt8(ascii: "0")
        let digits = skipDigits()
        guard digits > 0 else { throw fail("expected a value", at: start) }
        if leadsWithZero, digits > 1 { throw fail("leading zero in a number", at: start) }
        if peek() == UInt8(ascii: ".") {
            position += 1
            guard skipDigits() > 0 else { throw fail("expected digits after '.'") }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            position += 1
            if let sign = peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { position += 1 }
            guard skipDigits() > 0 else { throw fail("expected digits in an exponent") }
        }
    }

    private mutating func skipDigits() -> Int {
        let start = position
        while let byte = peek(), isDigit(byte) { position += 1 }
        return position - start
    }

    private mutating func literal(_ word: String) throws(JSONError) {
        for expected in word.utf8 {
            guard peek() == expected else { throw fail("invalid literal (expected '\(word)')") }
            position += 1
        }
    }

    private mutating func expect(_ byte: Unicode.Scalar, _ what: String) throws(JSONError) {
        guard peek() == UInt8(ascii: byte) else { throw fail("expected \(what)") }
        position += 1
    }

    private mutating func skipWhitespace() {
        while let byte = peek(),
              byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private func peek() -> UInt8? { position < text.count ? text[position] : nil }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private func fail(_ message: String, at offset: Int? = nil) -> JSONError {
        JSONError(message: message, offset: offset ?? position)
    }
}
