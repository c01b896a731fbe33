import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ModelHub
import Testing
@testable import MoshiCLI

/// `moshi download`: its arguments, its failure without network, and its closing summary.
@Suite struct DownloadCommandTests {
    @Test func parsesRepoIncludesAndCacheDirectory() throws {
        let command = try DownloadCommand.parse([
            "kyutai/moshiko-mlx-q4", "--include", "model.q4*", "--include", "tokenizer*", "--cache-dir", "/data/hub",
        ])
        #expect(command.repo == "kyutai/moshiko-mlx-q4")
        #expect(command.include == ["model.q4*", "tokenizer*"])
        #expect(command.cacheDir == "/data/hub")
        #expect(command.revision == "main")
        #expect(command.timeout == 30)
        let bare = try DownloadCommand.parse([])
        #expect(bare.repo == nil)
        #expect(bare.include.isEmpty)
        #expect(throws: (any Error).self) { try DownloadCommand.parse(["--timeout", "0"]) }
    }

    @Test func isASubcommandOfMoshi() {
        let names = MoshiCommand.configuration.subcommands.map { $0.configuration.commandName }
        #expect(names.contains("download"))
    }

    @Test func noNetworkIsOneClearError() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("dlcmd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let port = Self.closedPort()
        let command = try DownloadCommand.parse(["kyutai/moshiko-mlx-q4", "--cache-dir", cache,
                                                 "--endpoint", "http://127.0.0.1:\(port)", "--timeout", "5"])
        let start = Date()
        do {
            try command.run()
            Issue.record("a download without a server succeeded")
        } catch let error as HubError {
            #expect(error.kind == .network)
            #expect(error.description.hasPrefix("cannot reach http://127.0.0.1:\(port): "))
            #expect(error.description.hasSuffix("download the files elsewhere and pass --model-dir"))
        }
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func summaryNamesTheSnapshotAndHowToUseIt() throws {
        let snapshot = FileManager.default.temporaryDirectory.appendingPathComponent("dlsum-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: snapshot) }
        let files = ["model.q4.safetensors", KyutaiModelFiles.mimiFileName, KyutaiModelFiles.textTokenizerFileName]
        for name in files { try Data("x".utf8).write(to: URL(fileURLWithPath: snapshot + "/" + name)) }
        let result = HubDownloader.Result(repo: try RepoID("kyutai/moshiko-mlx-q4"), commit: "abc", snapshotDirectory: snapshot,
                                          files: files, downloadedBytes: 2_500_000)
        let text = DownloadCommand.summary(of: result)
        #expect(text.hasPrefix("kyutai/moshiko-mlx-q4 at abc: 3 file(s), 2.50 MB downloaded, in\n  \(snapshot)\n    model.q4.safetensors\n"))
        #expect(text.hasSuffix("Use it with --hf-repo kyutai/moshiko-mlx-q4 or --model-dir \(snapshot)"))
        try FileManager.default.removeItem(atPath: snapshot + "/" + KyutaiModelFiles.mimiFileName)
        #expect(DownloadCommand.summary(of: result).contains("Not a complete Moshi model yet: model directory \(snapshot) lacks Mimi weights"))
    }

    /// A localhost port with nothing listening: bound to an ephemeral port, then closed.
    static func closedPort() -> Int {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                _ = bind(fd, generic, length)
                _ = getsockname(fd, generic, &length)
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
