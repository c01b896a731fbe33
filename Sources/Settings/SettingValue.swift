import TOMLKit

/// A type a setting can hold: how it reads from TOML and from an environment variable, and how
/// its default is written in `Config/moshi.toml`.
package protocol SettingValue: Sendable, Equatable {
    /// The TOML type name used in error messages ("integer", "string", ...).
    static var typeName: String { get }
    init?(toml: TOMLValueConvertible)
    init?(environment text: String)
    /// The value as a TOML literal.
    var tomlLiteral: String { get }
}

extension Int: SettingValue {
    package static var typeName: String { "integer" }
    package init?(toml: TOMLValueConvertible) {
        guard let v = toml.int else { return nil }
        self = v
    }
    package init?(environment text: String) { self.init(text.trimmingWhitespace()) }
    package var tomlLiteral: String { String(self) }
}

extension Double: SettingValue {
    package static var typeName: String { "number" }
    package init?(toml: TOMLValueConvertible) {
        if let v = toml.double { self = v } else if let v = toml.int { self = Double(v) } else { return nil }
    }
    package init?(environment text: String) {
        guard let v = Double(text.trimmingWhitespace()), v.isFinite else { return nil }
        self = v
    }
    package var tomlLiteral: String { String(self) }
}

extension Bool: SettingValue {
    package static var typeName: String { "boolean" }
    package init?(toml: TOMLValueConvertible) {
        guard let v = toml.bool else { return nil }
        self = v
    }
    package init?(environment text: String) {
        switch text.trimmingWhitespace().lowercased() {
        case "1", "true", "yes", "on": self = true
        case "0", "false", "no", "off": self = false
        default: return nil
        }
    }
    package var tomlLiteral: String { self ? "true" : "false" }
}

extension String: SettingValue {
    package static var typeName: String { "string" }
    package init?(toml: TOMLValueConvertible) {
        guard let v = toml.string else { return nil }
        self = v
    }
    package init?(environment text: String) { self = text }
    package var tomlLiteral: String {
        var out = "\""
        for ch in unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + "\""
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
