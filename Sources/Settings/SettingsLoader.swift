import TOMLKit
#if canImport(Glibc)
import Glibc
#endif

/// Reads the configuration: the built-in defaults, then a TOML file, then `MOSHI_*` variables.
/// Command-line values are applied afterwards by each command (`Settings.override`).
package enum SettingsLoader {
    /// The config file to read when none is named: `$MOSHI_CONFIG`, else
    /// `$XDG_CONFIG_HOME/moshi/moshi.toml` (or `~/.config/moshi/moshi.toml`), else `/etc/moshi/moshi.toml`.
    package static func defaultConfigPath(environment: [String: String]) -> (path: String, explicit: Bool)? {
        if let path = environment["MOSHI_CONFIG"], !path.isEmpty { return (path, true) }
        var candidates: [String] = []
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty {
            candidates.append(xdg + "/moshi/moshi.toml")
        } else if let home = environment["HOME"], !home.isEmpty {
            candidates.append(home + "/.config/moshi/moshi.toml")
        }
        candidates.append("/etc/moshi/moshi.toml")
        return candidates.first(where: fileExists).map { ($0, false) }
    }

    /// Loads the settings. `configPath` (from `--config`) must exist when given; otherwise the
    /// default search applies and a missing file just means built-in defaults.
    package static func load(configPath: String?, environment: [String: String]) throws -> Settings {
        var settings = Settings()
        let file: String? = configPath ?? defaultConfigPath(environment: environment)?.path
        if let file {
            guard fileExists(file) else { throw SettingsError.fileNotFound(path: file) }
            try apply(tomlText: try readText(file), path: file, to: &settings)
            settings.setConfigFile(file)
        }
        try applyEnvironment(environment, to: &settings)
        return settings
    }

    /// Applies a TOML document (already read) to `settings`. `path` names it in errors.
    package static func apply(tomlText: String, path: String, to settings: inout Settings) throws {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: tomlText)
        } catch let error as TOMLParseError {
            throw SettingsError.syntax(path: path, line: error.source.begin.line,
                                       column: error.source.begin.column, reason: error.description)
        }
        let lines = TOMLLineIndex(text: tomlText)
        let known = SettingsCatalog.all
        for sectionName in table.keys.sorted(by: { lines.line(section: $0) < lines.line(section: $1) }) {
            let line = lines.line(section: sectionName)
            guard let section = table[sectionName]?.table else {
                // A top-level key outside any [section].
                throw SettingsError.unknownKey(path: path, line: lines.line(section: nil, key: sectionName), key: sectionName)
            }
            guard SettingsCatalog.sections.contains(sectionName) else {
                throw SettingsError.unknownSection(path: path, line: line, section: sectionName)
            }
            for name in section.keys.sorted(by: { lines.line(section: sectionName, key: $0) < lines.line(section: sectionName, key: $1) }) {
                let keyLine = lines.line(section: sectionName, key: name)
                let dotted = "\(sectionName).\(name)"
                guard let key = known.first(where: { $0.section == sectionName && $0.name == name }) else {
                    throw SettingsError.unknownKey(path: path, line: keyLine, key: dotted)
                }
                guard let raw = section[name], let value = key.fromTOML(raw) else {
                    throw SettingsError.wrongType(path: path, line: keyLine, key: dotted, expected: key.typeName)
                }
                if let why = key.check(value) {
                    throw SettingsError.invalidValue(path: path, line: keyLine, key: dotted, reason: why)
                }
                settings.set(key, value, from: .file)
            }
        }
    }

    /// Applies every `MOSHI_SECTION_NAME` variable that names a known key.
    package static func applyEnvironment(_ environment: [String: String], to settings: inout Settings) throws {
        for key in SettingsCatalog.all {
            guard let text = environment[key.environmentVariable] else { continue }
            guard let value = key.fromEnvironment(text) else {
                throw SettingsError.badEnvironment(variable: key.environmentVariable, key: key.path,
                                                   reason: "must be of type \(key.typeName), got \"\(text)\"")
            }
            if let why = key.check(value) {
                throw SettingsError.badEnvironment(variable: key.environmentVariable, key: key.path, reason: why)
            }
            settings.set(key, value, from: .environment)
        }
    }

    static func fileExists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    static func readText(_ path: String) throws -> String {
        guard let f = fopen(path, "rb") else {
            throw SettingsError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n > 0 { bytes.append(contentsOf: buffer[0..<n]) }
            if n < buffer.count { break }
            if bytes.count > 16 << 20 { throw SettingsError.unreadable(path: path, reason: "larger than 16 MB") }
        }
        if ferror(f) != 0 { throw SettingsError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SettingsError.unreadable(path: path, reason: "not UTF-8 text")
        }
        return text
    }
}
