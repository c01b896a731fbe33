/// Writes the documented config file (`Config/moshi.toml`) from the catalog: every key, its
/// meaning, its environment variable and its default. `moshi config --defaults` prints it.
package enum ConfigTemplate {
    package static func render() -> String {
        var out = """
        # moshi.toml: configuration of SwiftMoshi (the `moshi` command and daemon).
        #
        # Precedence: command-line option > environment variable (MOSHI_SECTION_KEY) > this file >
        # built-in default. The file is read from --config, else $MOSHI_CONFIG, else
        # $XDG_CONFIG_HOME/moshi/moshi.toml (~/.config/moshi/moshi.toml), else /etc/moshi/moshi.toml.
        # Every key is listed below with its built-in default; a key or section not listed here is
        # an error that names the file and the line.

        """
        for section in SettingsCatalog.sections {
            out += (out.hasSuffix("\n\n") ? "" : "\n") + "[\(section)]\n"
            for key in SettingsCatalog.all where key.section == section {
                for line in wrap(key.help, width: 94) { out += "# \(line)\n" }
                out += "# Environment: \(key.environmentVariable)\n"
                out += "\(key.name) = \(key.defaultLiteral)\n\n"
            }
        }
        while out.hasSuffix("\n\n") { out.removeLast() }
        return out
    }

    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ") {
            if !current.isEmpty && current.count + 1 + word.count > width {
                lines.append(current)
                current = ""
            }
            current += current.isEmpty ? String(word) : " " + word
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }
}
