/// Why a configuration could not be read. Every case names where the bad value came from: the
/// file and line, or the environment variable, or the command-line option.
package enum SettingsError: Error, Equatable, CustomStringConvertible {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case syntax(path: String, line: Int, column: Int, reason: String)
    case unknownSection(path: String, line: Int, section: String)
    case unknownKey(path: String, line: Int, key: String)
    case wrongType(path: String, line: Int, key: String, expected: String)
    case invalidValue(path: String, line: Int, key: String, reason: String)
    case badEnvironment(variable: String, key: String, reason: String)
    case badOption(option: String, reason: String)

    package var description: String {
        switch self {
        case .fileNotFound(let path):
            "config file \(path): not found"
        case .unreadable(let path, let reason):
            "config file \(path): cannot be read: \(reason)"
        case .syntax(let path, let line, let column, let reason):
            "\(path):\(line):\(column): \(reason)"
        case .unknownSection(let path, let line, let section):
            "\(path):\(line): unknown section [\(section)] (known: \(SettingsCatalog.sections.joined(separator: ", ")))"
        case .unknownKey(let path, let line, let key):
            "\(path):\(line): unknown key \(key)"
        case .wrongType(let path, let line, let key, let expected):
            "\(path):\(line): key \(key) must be a TOML \(expected)"
        case .invalidValue(let path, let line, let key, let reason):
            "\(path):\(line): key \(key) \(reason)"
        case .badEnvironment(let variable, let key, let reason):
            "environment variable \(variable) (\(key)) \(reason)"
        case .badOption(let option, let reason):
            "option \(option) \(reason)"
        }
    }
}
