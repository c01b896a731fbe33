import ArgumentParser
import Foundation
import Server
import Settings
import Testing
@testable import MoshiCLI

/// Issue 13's command-line fixes: numeric flags checked like config values, audio formats by
/// extension, `--version`.
@Suite struct DeploymentCommandTests {
    @Test(arguments: [["--idle-timeout", "inf"], ["--idle-timeout", "nan"], ["--idle-timeout", "-1"], ["--idle-timeout", "1e9"],
                      ["--port", "70000"], ["--max-sessions", "0"], ["--host", ""]])
    func serveRefusesFlagValuesItsConfigRefuses(_ flags: [String]) {
        #expect(throws: (any Error).self) { _ = try MoshiCommand.parseAsRoot(["serve"] + flags) }
    }

    @Test func serveAcceptsGoodFlagValues() throws {
        _ = try MoshiCommand.parseAsRoot(["serve", "--idle-timeout", "0", "--port", "0", "--max-sessions", "2"])
    }

    @Test func codecWritesTheFormatItsExtensionNames() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-codec-ext-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tone = (0..<4800).map { 0.3 * sin(Float($0) * 0.1) }
        for (name, magic) in [("a.opus", "OggS"), ("b.ogg", "OggS"), ("c.wav", "RIFF")] {
            let path = directory.appendingPathComponent(name).path
            try CodecStreaming.writeAudio(tone, to: path, format: .s16)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(bytes.prefix(4) == Data(magic.utf8), "\(name)")
        }
        #expect(throws: (any Error).self) { try CodecStreaming.writeAudio(tone, to: directory.appendingPathComponent("d.mp3").path, format: .s16) }
    }

    @Test(arguments: [["codec", "roundtrip", "in.wav", "-o", "out.mp3"], ["codec", "decode", "codes.npy", "-o", "out"],
                      ["profile", "--output", "reply.opus"], ["chat", "--record", "both.ogg"]])
    func unknownOrUnwritableAudioExtensionsAreRefused(_ arguments: [String]) {
        #expect(throws: (any Error).self) { _ = try MoshiCommand.parseAsRoot(arguments) }
    }

    @Test func codecAcceptsOpusOutputs() throws {
        _ = try MoshiCommand.parseAsRoot(["codec", "roundtrip", "in.wav", "-o", "out.opus"])
        _ = try MoshiCommand.parseAsRoot(["codec", "decode", "codes.npy", "-o", "out.ogg"])
    }

    @Test func versionIsPrinted() {
        #expect(MoshiCommand.configuration.version == MoshiCommand.version)
        #expect(!MoshiCommand.version.isEmpty)
        do {
            _ = try MoshiCommand.parseAsRoot(["--version"])
            Issue.record("--version should exit")
        } catch {
            #expect(MoshiCommand.fullMessage(for: error).contains(MoshiCommand.version))
        }
    }

    @Test func newServerKeysHaveSafeDefaults() {
        #expect(SettingsCatalog.serverMetricsHost.defaultValue == "127.0.0.1")
        #expect(SettingsCatalog.serverLockWeights.defaultValue == false)
        #expect(SettingsCatalog.serverWarmupFrames.problem(with: -1) != nil)
    }

    /// `moshi serve --host 0.0.0.0` without a token stops before loading anything, saying why.
    @Test func serveRefusesANetworkBindWithoutAToken() throws {
        let command = try #require(try MoshiCommand.parseAsRoot(["serve", "--host", "0.0.0.0", "--port", "0", "--synthetic"]) as? ServeCommand)
        do {
            try command.run()
            Issue.record("serve should refuse")
        } catch {
            #expect("\(error)".contains("server.auth_token") && "\(error)".contains("--insecure-no-auth"))
        }
        let withToken = try #require(try MoshiCommand.parseAsRoot(["serve", "--host", "0.0.0.0", "--auth-token", "abc", "--allowed-origins", "https://a.example, https://b.example"]) as? ServeCommand)
        let policy = withToken.accessPolicy(try SettingsLoader.load(configPath: nil, environment: [:]))
        #expect(policy == AccessPolicy(authToken: "abc", allowedOrigins: ["https://a.example", "https://b.example"]))
    }
}
