/// Small helpers for writing the Prometheus text exposition format (version 0.0.4).
package enum PrometheusText {
    /// The `Content-Type` of a `/metrics` response.
    package static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Escapes a label value: backslash, double quote and newline.
    package static func escapeLabelValue(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// Escapes `# HELP` text: backslash and newline.
    package static func escapeHelp(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// A bucket bound in seconds as Prometheus expects it (`0.005`, `1`, `0.08`); no exponent for the
    /// ranges we use.
    package static func formatBound(_ seconds: Double) -> String {
        if seconds == seconds.rounded() && abs(seconds) < 1e15 { return String(Int64(seconds)) }
        return String(seconds)
    }

    /// Nanoseconds as decimal seconds with nine fractional digits at most, trailing zeros trimmed.
    package static func formatSeconds(nanoseconds: UInt64) -> String {
        let whole = nanoseconds / 1_000_000_000
        let fraction = nanoseconds % 1_000_000_000
        if fraction == 0 { return String(whole) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 9 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }

    /// Appends `# HELP` and `# TYPE` lines for a metric family.
    package static func appendHeader(name: String, help: String, type: String, into buffer: inout [UInt8]) {
        buffer.append(contentsOf: "# HELP \(name) \(escapeHelp(help))\n# TYPE \(name) \(type)\n".utf8)
    }
}
