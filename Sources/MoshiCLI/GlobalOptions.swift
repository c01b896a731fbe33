import ArgumentParser
import Foundation
import Logging
import Settings

/// Options every command accepts: the config file, the log level and the thread count.
/// Each maps onto a `SettingsCatalog` key and, when given, wins over the environment and the file.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Config file (default: $MOSHI_CONFIG, ~/.config/moshi/moshi.toml, /etc/moshi/moshi.toml).", valueName: "path"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical (runtime.log_level).", valueName: "level"))
    var logLevel: String?

    /// Reads the settings with this command line's overrides, and sets up logging to stderr.
    func loadSettings() throws -> Settings {
        var settings: Settings
        do {
            settings = try SettingsLoader.load(configPath: config, environment: ProcessInfo.processInfo.environment)
            try settings.override(SettingsCatalog.logLevel, with: logLevel, option: "--log-level")
        } catch let error as SettingsError {
            throw ValidationError(error.description)
        }
        LogSetup.bootstrap(level: settings[SettingsCatalog.logLevel])
        return settings
    }
}

/// Logging goes to stderr through swift-log, so stdout stays clean for tables and JSON.
enum LogSetup {
    nonisolated(unsafe) private static var done = false

    static func bootstrap(level: String) {
        guard !done else { return }
        done = true
        let parsed = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = parsed
            return handler
        }
    }
}
