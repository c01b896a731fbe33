import Foundation
import Testing
@testable import Settings

@Suite struct SettingsLoaderTests {
    private func apply(_ toml: String) throws -> Settings {
        var settings = Settings()
        try SettingsLoader.apply(tomlText: toml, path: "test.toml", to: &settings)
        return settings
    }

    @Test func defaultsWhenNothingIsSet() {
        let s = Settings()
        #expect(s[SettingsCatalog.threads] == 0)
        #expect(s[SettingsCatalog.logLevel] == "info")
        #expect(s.source(of: SettingsCatalog.threads) == .builtInDefault)
    }

    @Test func fileValuesApply() throws {
        let s = try apply("""
        [runtime]
        threads = 2
        log_level = "debug"
        [model]
        mimi_codebooks = 16
        """)
        #expect(s[SettingsCatalog.threads] == 2)
        #expect(s[SettingsCatalog.logLevel] == "debug")
        #expect(s[SettingsCatalog.mimiCodebooks] == 16)
        #expect(s.source(of: SettingsCatalog.threads) == .file)
    }

    @Test func precedenceIsCommandLineThenEnvironmentThenFile() throws {
        var s = try apply("[runtime]\nthreads = 2\nlog_level = \"debug\"\n")
        try SettingsLoader.applyEnvironment(["MOSHI_RUNTIME_THREADS": "3"], to: &s)
        #expect(s[SettingsCatalog.threads] == 3)
        #expect(s[SettingsCatalog.logLevel] == "debug")
        try s.override(SettingsCatalog.threads, with: 1, option: "--threads")
        #expect(s[SettingsCatalog.threads] == 1)
        #expect(s.source(of: SettingsCatalog.threads) == .commandLine)
        try s.override(SettingsCatalog.logLevel, with: nil, option: "--log-level")
        #expect(s[SettingsCatalog.logLevel] == "debug")
    }

    @Test func syntaxErrorNamesFileAndLine() {
        #expect(throws: SettingsError.self) { try apply("[runtime]\nthreads = = 2\n") }
        do { _ = try apply("[runtime]\nthreads = = 2\n"); Issue.record("no error") } catch let e as SettingsError {
            guard case .syntax(let path, let line, _, _) = e else { Issue.record("wrong case \(e)"); return }
            #expect(path == "test.toml")
            #expect(line == 2)
            #expect(e.description.hasPrefix("test.toml:2:"))
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func unknownKeyNamesItsLine() {
        do { _ = try apply("[runtime]\nthreads = 2\n\nthredas = 3\n"); Issue.record("no error") } catch {
            #expect(error as? SettingsError == .unknownKey(path: "test.toml", line: 4, key: "runtime.thredas"))
            #expect("\(error)" == "test.toml:4: unknown key runtime.thredas")
        }
    }

    @Test func unknownSectionNamesItsLine() {
        do { _ = try apply("# comment\n[runtime]\nthreads = 1\n[sever]\nport = 1\n"); Issue.record("no error") } catch {
            #expect(error as? SettingsError == .unknownSection(path: "test.toml", line: 4, section: "sever"))
        }
    }

    @Test func wrongTypeNamesKeyAndExpectedType() {
        do { _ = try apply("[runtime]\nlog_level = \"info\"\nthreads = \"two\"\n"); Issue.record("no error") } catch {
            #expect(error as? SettingsError == .wrongType(path: "test.toml", line: 3, key: "runtime.threads", expected: "integer"))
        }
    }

    @Test func invalidValueIsRejected() {
        do { _ = try apply("[runtime]\nthreads = -1\n"); Issue.record("no error") } catch {
            #expect(error as? SettingsError == .invalidValue(path: "test.toml", line: 2, key: "runtime.threads", reason: "must be between 0 and 1024"))
        }
    }

    @Test func topLevelKeyIsAnError() {
        do { _ = try apply("threads = 2\n"); Issue.record("no error") } catch {
            #expect(error as? SettingsError == .unknownKey(path: "test.toml", line: 1, key: "threads"))
        }
    }

    @Test func badEnvironmentValueNamesTheVariable() {
        var s = Settings()
        #expect(throws: SettingsError.badEnvironment(variable: "MOSHI_RUNTIME_THREADS", key: "runtime.threads", reason: "must be of type integer, got \"lots\"")) {
            try SettingsLoader.applyEnvironment(["MOSHI_RUNTIME_THREADS": "lots"], to: &s)
        }
        // The right type but out of range: refused like the same value in the file.
        #expect(throws: SettingsError.self) { try SettingsLoader.applyEnvironment(["MOSHI_SERVER_PORT": "70000"], to: &s) }
        #expect(s.source(of: SettingsCatalog.serverPort) != .environment)
    }

    @Test func missingExplicitFileIsAnError() {
        #expect(throws: SettingsError.fileNotFound(path: "/nonexistent/moshi.toml")) {
            _ = try SettingsLoader.load(configPath: "/nonexistent/moshi.toml", environment: [:])
        }
    }

    @Test func loadReadsARealFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-settings-\(getpid()).toml").path
        try "[runtime]\nthreads = 5\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let s = try SettingsLoader.load(configPath: nil, environment: ["MOSHI_CONFIG": path, "MOSHI_RUNTIME_LOG_LEVEL": "error"])
        #expect(s[SettingsCatalog.threads] == 5)
        #expect(s[SettingsCatalog.logLevel] == "error")
        #expect(s.configFile == path)
    }

    /// Config/moshi.toml is the documentation of every key: it must be exactly what the catalog renders,
    /// and it must load without error.
    @Test func shippedConfigFileListsEveryKeyWithItsDefault() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let shipped = try String(contentsOf: root.appendingPathComponent("Config/moshi.toml"), encoding: .utf8)
        #expect(shipped == ConfigTemplate.render() + "\n")
        let s = try apply(shipped)
        for key in SettingsCatalog.all {
            #expect(shipped.contains("\n\(key.name) = \(key.defaultLiteral)\n"))
            #expect(s.source(ofPath: key.path) == .file)
        }
    }
}
