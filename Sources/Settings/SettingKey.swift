import TOMLKit

/// One configuration key: where it lives in `moshi.toml` (`[section] name = ...`), its environment
/// variable (`MOSHI_SECTION_NAME`), its built-in default, what it means, and which values are valid.
package struct SettingKey<Value: SettingValue>: Sendable {
    package let section: String
    package let name: String
    package let defaultValue: Value
    package let help: String
    /// Returns why a value is invalid, or nil when it is fine.
    let check: @Sendable (Value) -> String?

    package init(_ section: String, _ name: String, default defaultValue: Value, help: String,
                check: @escaping @Sendable (Value) -> String? = { _ in nil }) {
        self.section = section
        self.name = name
        self.defaultValue = defaultValue
        self.help = help
        self.check = check
    }

    /// `section.name`.
    package var path: String { "\(section).\(name)" }
    /// Why `value` is invalid for this key ("must be between 0 and 86400"), or nil when it is
    /// fine: command-line options check their values with this, as config values are checked.
    package func problem(with value: Value) -> String? { check(value) }
    /// `MOSHI_SECTION_NAME`.
    package var environmentVariable: String { "MOSHI_\(section.uppercased())_\(name.uppercased())" }

    /// The type-erased form the catalog holds.
    package var erased: AnySettingKey { AnySettingKey(self) }
}

/// A `SettingKey` with its value type erased, so every key can sit in one catalog.
package struct AnySettingKey: Sendable {
    package let section: String
    package let name: String
    package let typeName: String
    package let defaultLiteral: String
    package let help: String
    package let environmentVariable: String
    let defaultValue: any SettingValue
    let fromTOML: @Sendable (TOMLValueConvertible) -> (any SettingValue)?
    let fromEnvironment: @Sendable (String) -> (any SettingValue)?
    let check: @Sendable (any SettingValue) -> String?

    init<V: SettingValue>(_ key: SettingKey<V>) {
        section = key.section
        name = key.name
        typeName = V.typeName
        defaultLiteral = key.defaultValue.tomlLiteral
        help = key.help
        environmentVariable = key.environmentVariable
        defaultValue = key.defaultValue
        fromTOML = { V(toml: $0) }
        fromEnvironment = { V(environment: $0) }
        let check = key.check
        self.check = { value in (value as? V).flatMap(check) }
    }

    package var path: String { "\(section).\(name)" }
}
