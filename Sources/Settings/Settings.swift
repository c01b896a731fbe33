/// Where a setting's value came from, from weakest to strongest.
package enum SettingSource: Int, Sendable, Comparable, CustomStringConvertible {
    case builtInDefault, file, environment, commandLine
    package static func < (a: SettingSource, b: SettingSource) -> Bool { a.rawValue < b.rawValue }
    package var description: String {
        switch self {
        case .builtInDefault: "default"
        case .file: "config file"
        case .environment: "environment"
        case .commandLine: "command line"
        }
    }
}

/// The resolved configuration: every key of `SettingsCatalog` with a value, applied with the
/// precedence command line > environment (`MOSHI_*`) > config file > built-in default.
package struct Settings: Sendable {
    fileprivate var values: [String: any SettingValue]
    private var sources: [String: SettingSource]
    /// The config file that was read, if any.
    package private(set) var configFile: String?

    /// Built-in defaults only.
    package init() {
        values = [:]
        sources = [:]
        for key in SettingsCatalog.all {
            values[key.path] = key.defaultValue
            sources[key.path] = .builtInDefault
        }
    }

    package subscript<V: SettingValue>(key: SettingKey<V>) -> V {
        (values[key.path] as? V) ?? key.defaultValue
    }

    /// Where the current value of `key` came from.
    package func source<V>(of key: SettingKey<V>) -> SettingSource { source(ofPath: key.path) }

    /// Where the value of the key at `path` (`section.name`) came from.
    package func source(ofPath path: String) -> SettingSource { sources[path] ?? .builtInDefault }

    /// Applies a command-line value (the strongest source). `option` names the flag for errors.
    package mutating func override<V: SettingValue>(_ key: SettingKey<V>, with value: V?, option: String) throws {
        guard let value else { return }
        if let why = key.check(value) { throw SettingsError.badOption(option: option, reason: why) }
        values[key.path] = value
        sources[key.path] = .commandLine
    }

    mutating func set(_ key: AnySettingKey, _ value: any SettingValue, from source: SettingSource) {
        values[key.path] = value
        sources[key.path] = source
    }

    mutating func setConfigFile(_ path: String) { configFile = path }
}

extension Settings {
    /// The current value of the key at `path` as a TOML literal.
    package func literal(ofPath path: String) -> String {
        guard let value = values[path] else { return "" }
        return value.tomlLiteral
    }
}
