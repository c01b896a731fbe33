/// Finds the line of a `[section]` header or of a `key = value` line in a TOML document, so
/// errors about a key's value can name its line (the TOML parser reports lines only for syntax).
struct TOMLLineIndex {
    private var sections: [String: Int] = [:]
    private var keys: [String: Int] = [:]   // "section.key" (or "key" at top level) -> line

    init(text: String) {
        var current: String? = nil
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.drop(while: { $0 == " " || $0 == "\t" })
            if line.hasPrefix("[") {
                let inner = line.dropFirst().prefix(while: { $0 != "]" })
                let name = String(inner).trimmingWhitespace().replacingQuotes()
                current = name
                if sections[name] == nil { sections[name] = lineNumber }
            } else if let eq = line.firstIndex(of: "="), !line.hasPrefix("#") {
                let name = String(line[..<eq]).trimmingWhitespace().replacingQuotes()
                let path = current.map { "\($0).\(name)" } ?? name
                if keys[path] == nil { keys[path] = lineNumber }
            }
        }
    }

    func line(section: String) -> Int { sections[section] ?? keys[section] ?? 0 }

    func line(section: String?, key: String) -> Int {
        let path = section.map { "\($0).\(key)" } ?? key
        return keys[path] ?? section.map(line(section:)) ?? 0
    }
}

private extension String {
    func replacingQuotes() -> String {
        if count >= 2, let f = first, f == last, f == "\"" || f == "'" { return String(dropFirst().dropLast()) }
        return self
    }
}
