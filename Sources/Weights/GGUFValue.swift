/// A GGUF metadata value (`gguf_metadata_value_type`), read in full.
package indirect enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String)
    case array(GGUFArray)
    case uint64(UInt64), int64(Int64), float64(Double)

    /// The type code in the file.
    package var typeCode: UInt32 {
        switch self {
        case .uint8: 0
        case .int8: 1
        case .uint16: 2
        case .int16: 3
        case .uint32: 4
        case .int32: 5
        case .float32: 6
        case .bool: 7
        case .string: 8
        case .array: 9
        case .uint64: 10
        case .int64: 11
        case .float64: 12
        }
    }

    /// The value as an integer, for integer types that fit `Int`.
    package var integer: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }

    package var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The value shortened to about `limit` characters for listings: long strings are cut,
    /// arrays show their element type, count and first few elements.
    package func summary(limit: Int = 60) -> String {
        switch self {
        case .uint8(let v): "\(v)"
        case .int8(let v): "\(v)"
        case .uint16(let v): "\(v)"
        case .int16(let v): "\(v)"
        case .uint32(let v): "\(v)"
        case .int32(let v): "\(v)"
        case .uint64(let v): "\(v)"
        case .int64(let v): "\(v)"
        case .float32(let v): "\(v)"
        case .float64(let v): "\(v)"
        case .bool(let v): "\(v)"
        case .string(let s): quoted(s, limit: limit)
        case .array(let a): a.summary(limit: limit)
        }
    }
}

/// A GGUF array: elements of one type, kept as a typed Swift array (so a million u8 take a
/// megabyte, not a million enum cases).
package indirect enum GGUFArray: Sendable, Equatable {
    case uint8([UInt8]), int8([Int8]), uint16([UInt16]), int16([Int16]), uint32([UInt32]), int32([Int32])
    case float32([Float]), bool([Bool]), string([String])
    case array([GGUFArray])
    case uint64([UInt64]), int64([Int64]), float64([Double])

    package var count: Int {
        switch self {
        case .uint8(let a): a.count
        case .int8(let a): a.count
        case .uint16(let a): a.count
        case .int16(let a): a.count
        case .uint32(let a): a.count
        case .int32(let a): a.count
        case .float32(let a): a.count
        case .bool(let a): a.count
        case .string(let a): a.count
        case .array(let a): a.count
        case .uint64(let a): a.count
        case .int64(let a): a.count
        case .float64(let a): a.count
        }
    }

    /// The name of the element type ("string", "u32", "array").
    package var elementTypeName: String {
        switch self {
        case .uint8: "u8"
        case .int8: "i8"
        case .uint16: "u16"
        case .int16: "i16"
        case .uint32: "u32"
        case .int32: "i32"
        case .float32: "f32"
        case .bool: "bool"
        case .string: "string"
        case .array: "array"
        case .uint64: "u64"
        case .int64: "i64"
        case .float64: "f64"
        }
    }

    /// "[string x 32000: "<unk>", "<s>", ...]".
    package func summary(limit: Int = 60) -> String {
        let shown: [String]
        switch self {
        case .uint8(let a): shown = a.prefix(8).map { "\($0)" }
        case .int8(let a): shown = a.prefix(8).map { "\($0)" }
        case .uint16(let a): shown = a.prefix(8).map { "\($0)" }
        case .int16(let a): shown = a.prefix(8).map { "\($0)" }
        case .uint32(let a): shown = a.prefix(8).map { "\($0)" }
        case .int32(let a): shown = a.prefix(8).map { "\($0)" }
        case .float32(let a): shown = a.prefix(8).map { "\($0)" }
        case .bool(let a): shown = a.prefix(8).map { "\($0)" }
        case .string(let a): shown = a.prefix(8).map { quoted($0, limit: 20) }
        case .array(let a): shown = a.prefix(8).map { "[\($0.elementTypeName) x \($0.count)]" }
        case .uint64(let a): shown = a.prefix(8).map { "\($0)" }
        case .int64(let a): shown = a.prefix(8).map { "\($0)" }
        case .float64(let a): shown = a.prefix(8).map { "\($0)" }
        }
        var text = "[\(elementTypeName) x \(count)"
        if !shown.isEmpty { text += ": " }
        var used = 0
        for (i, element) in shown.enumerated() {
            if used > 0 && used + element.count > limit {
                text += ", ..."
                return text + "]"
            }
            text += (i > 0 ? ", " : "") + element
            used += element.count + 2
        }
        return text + (count > shown.count ? ", ...]" : "]")
    }
}

/// `"text"`, cut to `limit` characters with "..." and with control characters escaped.
func quoted(_ text: String, limit: Int) -> String {
    var out = "\""
    for (i, character) in text.unicodeScalars.enumerated() {
        if i >= limit {
            out += "..."
            break
        }
        switch character {
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        default:
            if character.value < 0x20 || character.value == 0x7F {
                out += "\\u{\(String(character.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(character)
            }
        }
    }
    return out + "\""
}
