import ArgumentParser
import Settings

/// `moshi config`: the documented default config file, or the values in force and where each came from.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the configuration in force, or print the documented default moshi.toml.",
        discussion: """
        Precedence: command-line option > environment variable (MOSHI_SECTION_KEY) > config file > built-in default.
        `moshi config --defaults > /etc/moshi/moshi.toml` writes a file that lists every key.
        """)

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print the documented default config file (every key with its default) and exit.")
    var defaults = false

    func run() throws {
        if defaults {
            print(ConfigTemplate.render())
            return
        }
        let settings = try global.loadSettings()
        print("config file: \(settings.configFile ?? "(none found; built-in defaults)")")
        for key in SettingsCatalog.all {
            print("\(key.path) = \(settings.literal(ofPath: key.path))    # \(settings.source(ofPath: key.path))")
        }
    }
}
