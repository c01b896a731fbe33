import Foundation

/// A parsed JSON document that keeps booleans and numbers apart, for small files read key by key
/// (a repository's `config.json`). Built by `JSONReader`, so it has the reader's limits: nesting
/// deeper than `JSONReader.maxDepth` and text after the top-level value are errors. Of repeated
/// keys, the last wins (as in Python's `json`).
package enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses `text`; the error names the byte offset and what was expected there.
    package static func parse(_ text: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> JSONValue {
        var reader = JSONReader(text)
        do throws(JSONError) {
            let value = try read(&reader)
            try reader.expectEnd()
            return value
        } catch {
            throw JSONSyntaxError(message: error.message, offset: error.offset)
        }
    }

    /// Parses JSON text held in `data`.
    package static func parse(_ data: Data) throws(JSONSyntaxError) -> JSONValue {
        let result: Result<JSONValue, JSONSyntaxError> = data.withUnsafeBytes { bytes in
            do throws(JSONSyntaxError) { return .success(try parse(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private static func read(_ reader: inout JSONReader) throws(JSONError) -> JSONValue {
        switch reader.peekKind() {
        case UInt8(ascii: "{"):
            var members: [String: JSONValue] = [:]
            var object = try reader.beginObject()
            while let key = try reader.nextKey(in: &object) { members[key] = try read(&reader) }
            return .object(members)
        case UInt8(ascii: "["):
            var items: [JSONValue] = []
            var array = try reader.beginArray()
            while try reader.nextElement(in: &array) { items.append(try read(&reader)) }
            return .array(items)
        case UInt8(ascii: "\""): return .string(try reader.readString())
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool(try reader.readBool())
        case UInt8(ascii: "n"):
            try reader.readNull()
            return .null
        default: return .number(try reader.readNumber())
        }
    }

    /// The members, if this is an object.
    package var object: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The value as an integer, if it is a number without a fraction that fits comfortably.
    package var integer: Int? {
        if case .number(let n) = self, n == n.rounded(), abs(n) < 1e15 { return Int(n) }
        return nil
    }

    /// How the value reads in an error message.
    package var rendered: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number(let n): n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(n)
        case .string(let s): "\"\(s)\""
        case .array(let a): a.isEmpty ? "[]" : "[...]"
        case .object(let o): o.isEmpty ? "{}" : "{...}"
        }
    }
}

/// Why JSON text did not parse: what was expected, and the byte offset where it was not found.
package struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
    package let message: String
    package let offset: Int
    package var description: String { "at byte \(offset): \(message)" }
}
