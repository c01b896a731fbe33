import Crypto
import Foundation
import Testing
@testable import ModelHub

/// `HubDownloader` against a local fake hub (`FakeHubServer`): layout, resume, checksums, errors.
@Suite(.enabled(if: FakeHubServer.isAvailable, "needs python3 for the local fake hub"))
struct HubDownloaderTests {
    static let commit = "0123456789abcdef0123456789abcdef01234567"
    static let repoID = "kyutai/fake-moshi"

    /// Deterministic pseudo-random bytes.
    static func bytes(_ count: Int, seed: UInt64) -> Data {
        var state = seed
        return Data((0..<count).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        })
    }

    static let model = bytes(300_000, seed: 1)
    static let mimi = bytes(40_000, seed: 2)
    static let tokenizer = bytes(5_000, seed: 3)
    static let config = Data(#"{"dim": 4096}"#.utf8)
    static let notes = Data("nested file\n".utf8)

    static func sha256(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    static func gitSHA1(_ data: Data) -> String {
        Insecure.SHA1.hash(data: Data("blob \(data.count)\0".utf8) + data).map { String(format: "%02x", $0) }.joined()
    }

    static func repo(modelETag: String? = nil) -> FakeHubServer.Repo {
        FakeHubServer.Repo(commit: commit, files: [
            "model.q4.safetensors": .init(content: model, announcedETag: modelETag),
            KyutaiModelFiles.mimiFileName: .init(content: mimi),
            KyutaiModelFiles.textTokenizerFileName: .init(content: tokenizer),
            "config.json": .init(content: config, lfs: false),
            "docs/sub/notes.txt": .init(content: notes, lfs: false),
        ])
    }

    /// A fresh empty cache directory, removed by the caller's `defer`.
    static func temporaryCache() throws -> HuggingFaceCache {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("hubcache-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return HuggingFaceCache(root: root)
    }

    static func contentGETs(_ requests: [FakeHubServer.Request]) -> [FakeHubServer.Request] {
        requests.filter { $0.method == "GET" && ($0.path.hasPrefix("/cdn/") || $0.path.contains("/resolve/")) }
    }

    @Test func downloadsEveryFileIntoTheHubCacheLayout() throws {
        let server = try FakeHubServer(repos: [Self.repoID: Self.repo()])
        defer { server.stop() }
        let cache = try Self.temporaryCache()
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        let downloader = try HubDownloader(cache: cache, endpoint: server.endpoint, timeout: 10)
        let repo = try RepoID(Self.repoID)

        var lines: [String] = []
        let progress = DownloadProgress(interactive: false) { lines.append($0) }
        let result = try downloader.download(repo, progress: progress)

        let snapshot = cache.root + "/models--kyutai--fake-moshi/snapshots/" + Self.commit
        #expect(result.snapshotDirectory == snapshot)
        #expect(result.commit == Self.commit)
        #expect(result.files.sorted() == ["config.json", "docs/sub/notes.txt", "model.q4.safetensors",
                                          KyutaiModelFiles.mimiFileName, KyutaiModelFiles.textTokenizerFileName].sorted())
        let total = Self.model.count + Self.mimi.count + Self.tokenizer.count + Self.config.count + Self.notes.count
        #expect(result.downloadedBytes == Int64(total))

        // refs/main names the commit; snapshot entries are relative links into blobs/, named by ETag.
        let ref = try String(contentsOfFile: cache.root + "/models--kyutai--fake-moshi/refs/main", encoding: .utf8)
        #expect(ref == Self.commit)
        let manager = FileManager.default
        #expect(try manager.destinationOfSymbolicLink(atPath: snapshot + "/model.q4.safetensors") == "../../blobs/" + Self.sha256(Self.model))
        #expect(try manager.destinationOfSymbolicLink(atPath: snapshot + "/config.json") == "../../blobs/" + Self.gitSHA1(Self.config))
        #expect(try manager.destinationOfSymbolicLink(atPath: snapshot + "/docs/sub/notes.txt") == "../../../../blobs/" + Self.gitSHA1(Self.notes))
        #expect(try Data(contentsOf: URL(fileURLWithPath: snapshot + "/model.q4.safetensors")) == Self.model)
        #expect(try Data(contentsOf: URL(fileURLWithPath: snapshot + "/docs/sub/notes.txt")) == Self.notes)
        let blobs = try manager.contentsOfDirectory(atPath: cache.blobsDirectory(repo))
        #expect(blobs.count == 5)
        #expect(!blobs.contains { $0.hasSuffix(".incomplete") })

        // The cache finds what was downloaded, and so does the model-file finder.
        #expect(cache.snapshotDirectory(for: repo) == snapshot)
        let files = try KyutaiModelFiles(directory: snapshot)
        #expect(files.languageModel == snapshot + "/model.q4.safetensors")
        #expect(files.config == snapshot + "/config.json")
        #expect(lines.contains { $0.hasPrefix("downloading model.q4.safetensors (300.00 kB)") })

        // The LFS file came through the CDN redirect, never from the resolve URL's body.
        let gets = Self.contentGETs(try server.requests())
        #expect(gets.contains { $0.path == "/cdn/kyutai/fake-moshi/model.q4.safetensors" && $0.range == nil })

        // A second run fetches nothing and reports every file as cached.
        lines.removeAll()
        let again = try downloader.download(repo, progress: progress)
        #expect(again.downloadedBytes == 0)
        #expect(Self.contentGETs(try server.requests()).count == gets.count)
        #expect(lines.filter { $0.contains("already in the cache") }.count == 5)
    }

    @Test func includePatternsSelectFiles() throws {
        let server = try FakeHubServer(repos: [Self.repoID: Self.repo()])
        defer { server.stop() }
        let cache = try Self.temporaryCache()
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        let downloader = try HubDownloader(cache: cache, endpoint: server.endpoint, timeout: 10)
        let repo = try RepoID(Self.repoID)

        let result = try downloader.download(repo, include: [FilePattern("model.q4*"), FilePattern("docs/")])
        #expect(result.files == ["docs/sub/notes.txt", "model.q4.safetensors"])
        let snapshot = try FileManager.default.contentsOfDirectory(atPath: result.snapshotDirectory).sorted()
        #expect(snapshot == ["docs", "model.q4.safetensors"])

        do {
            _ = try downloader.download(repo, include: [FilePattern("*.gguf")])
            Issue.record("a pattern matching nothing succeeded")
        } catch {
            #expect(error.kind == .missingFiles)
            #expect(error.message.contains("no file of kyutai/fake-moshi matches --include *.gguf"))
        }
    }

    @Test func resumesAPartialFileWithARangeRequest() throws {
        let server = try FakeHubServer(repos: [Self.repoID: Self.repo()])
        defer { server.stop() }
        let cache = try Self.temporaryCache()
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        let repo = try RepoID(Self.repoID)
        let blobs = cache.blobsDirectory(repo)
        try FileManager.default.createDirectory(atPath: blobs, withIntermediateDirectories: true)
        let partial = blobs + "/" + Self.sha256(Self.model) + ".incomplete"
        try Self.model.prefix(100_000).write(to: URL(fileURLWithPath: partial))

        let downloader = try HubDownloader(cache: cache, endpoint: server.endpoint, timeout: 10)
        let result = try downloader.download(repo, include: [FilePattern("model.q4.safetensors")])
        #expect(result.downloadedBytes == 200_000)
        #expect(try Data(contentsOf: URL(fileURLWithPath: result.snapshotDirectory + "/model.q4.safetensors")) == Self.model)
        #expect(!FileManager.default.fileExists(atPath: partial))
        // The range goes to the resolve URL and is carried over the redirect to the CDN.
        let gets = Self.contentGETs(try server.requests())
        #expect(gets.map(\.path) == ["/kyutai/fake-moshi/resolve/\(Self.commit)/model.q4.safetensors",
                                     "/cdn/kyutai/fake-moshi/model.q4.safetensors"])
        #expect(gets.map(\.range) == ["bytes=100000-", "bytes=100000-"])
    }

    @Test func anInterruptedTransferIsKeptAndResumedByTheNextRun() throws {
        let server = try FakeHubServer(repos: [Self.repoID: Self.repo()], cutFirstDownloadAfter: 120_000)
        defer { server.stop() }
        let cache = try Self.temporaryCache()
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        let repo = try RepoID(Self.repoID)
        let downloader = try HubDownloader(cache: cache, endpoint: server.endpoint, timeout: 10)
        let include = [FilePattern("model.q4.safetensors")]
        do {
            _ = try downloader.download(repo, include: include)
            Issue.record("a cut transfer succeeded")
        } catch {
            #expect(error.kind == .network)
            #expect(error.message.hasPrefix("model.q4.safetensors: "))
            #expect(error.message.contains("120000 bytes kept, run the download again to resume"))
        }
        let partial = cache.blobsDirectory(repo) + "/" + Self.sha256(Self.model) + ".incomplete"
        let kept = try Data(contentsOf: URL(fileURLWithPath: partial))
        #expect(kept == Self.model.prefix(120_000))

        let result = try downloader.download(repo, include: include)
        #expect(result.downloadedBytes == 180_000)
        #expect(try Data(contentsOf: URL(fileURLWithPath: result.snapshotDirectory + "/model.q4.safetensors")) == Self.model)
        let ranges = Self.contentGETs(try server.requests()).filter { $0.path.hasPrefix("/cdn/") }.map(\.range)
        #expect(ranges == [nil, "bytes=120000-"])
    }

    @Test func startsOverWhenTheServerIgnoresTheRange() throws {
        let server = try FakeHubServer(repos: [Self.repoID: Self.repo()], ignoreRange: true)
        defer { server.stop() }
        let cache = try Self.temporaryCache()
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        let repo = try RepoID(Self.repoID)
        let blobs = cache.blobsDirectory(repo)
        try FileManager.default.createDirectory(atPath: blobs, withIntermediateDirectories: true)
        try Self.model.prefix(100_000).write(to: URL(fileURLWithPath: blobs + "/" + Self.sha256(Self.model) + ".incomplete"))

        let downloader = try HubDownloader(cache: cache, endpoint: server.endpoint, timeout: 10)
        let result = try downloader.download(repo, include: [FilePattern("model.q4.safetensors")])
        #expect(try Data(contentsOf: URL(fileURLWithPath: result.snapshotDirectory + "/model.q4.safetensors")) == Self.model)
    }

    @Test func checksumMismatchLeavesNothingInTheSnapshot() throws {
        let wrong = String(repeating: "ab", count: 32)
        let server = try FakeHubServer(repos: [Self.repoID: Self.repo(modelETag: wrong)])
        defer { server.stop() }
        let cache = try Self.temporaryCache()
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        let repo = try RepoID(Self.repoID)
        let downloader = try HubDownloader(cache: cache, endpoint: server.endpoint, timeout: 10)
        do {
            _ = try downloader.download(repo, include: [FilePattern("model.q4.safetensors")])
            Issue.record("a corrupt download was accepted")
        } catch {
            #expect(error.kind == .checksum)
            #expect(error.message.contains("sha256 \(Self.sha256(Self.model)), expected \(wrong)"))
        }
        let snapshot = cache.snapshotDirectory(repo, commit: Self.commit)
        #expect(!FileManager.default.fileExists(atPath: snapshot + "/model.q4.safetensors"))
        let blobs = (try? FileManager.default.contentsOfDirectory(atPath: cache.blobsDirectory(repo))) ?? []
        #expect(blobs.isEmpty)
        #expect(cache.snapshotDirectory(for: repo) == nil)  // refs/main is written only after success
    }

    @Test func corruptPartialFileIsCaughtByTheChecksum() throws {
        let server = try FakeHubServer(repos: [Self.repoID: Self.repo()])
        defer { server.stop() }
        let cache = try Self.temporaryCache()
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        let repo = try RepoID(Self.repoID)
        let blobs = cache.blobsDirectory(repo)
        try FileManager.default.createDirectory(atPath: blobs, withIntermediateDirectories: true)
        let partial = blobs + "/" + Self.sha256(Self.model) + ".incomplete"
        try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: partial))

        let downloader = try HubDownloader(cache: cache, endpoint: server.endpoint, timeout: 10)
        #expect(throws: HubError.self) { try downloader.download(repo, include: [FilePattern("model.q4.safetensors")]) }
        #expect(!FileManager.default.fileExists(atPath: partial))
        // The next run starts from zero and succeeds.
        let result = try downloader.download(repo, include: [FilePattern("model.q4.safetensors")])
        #expect(try Data(contentsOf: URL(fileURLWithPath: result.snapshotDirectory + "/model.q4.safetensors")) == Self.model)
    }

    @Test func unreachableEndpointFailsFastWithAClearMessage() throws {
        let cache = try Self.temporaryCache()
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        let port = FakeHubServer.closedPort()
        let downloader = try HubDownloader(cache: cache, endpoint: "http://127.0.0.1:\(port)", timeout: 5)
        let start = Date()
        do {
            _ = try downloader.download(try RepoID(Self.repoID))
            Issue.record("a closed port answered")
        } catch {
            #expect(error.kind == .network)
            #expect(error.message.hasPrefix("cannot reach http://127.0.0.1:\(port): "))
            #expect(error.message.hasSuffix("; download the files elsewhere and pass --model-dir"))
            #expect(!error.message.contains("\n"))
        }
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func silentServerTimesOut() throws {
        let server = try FakeHubServer(repos: [:])
        defer { server.stop() }
        let cache = try Self.temporaryCache()
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        let downloader = try HubDownloader(cache: cache, endpoint: server.endpoint + "/hang", timeout: 1)
        let start = Date()
        #expect(throws: HubError.self) { try downloader.listFiles(try RepoID(Self.repoID)) }
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test func unknownRepoIsA404Error() throws {
        let server = try FakeHubServer(repos: [Self.repoID: Self.repo()])
        defer { server.stop() }
        let cache = try Self.temporaryCache()
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        let downloader = try HubDownloader(cache: cache, endpoint: server.endpoint, timeout: 10)
        do {
            _ = try downloader.listFiles(try RepoID("kyutai/no-such-repo"))
            Issue.record("an unknown repo was listed")
        } catch {
            #expect(error.kind == .http(status: 404))
            #expect(error.message.contains("kyutai/no-such-repo"))
        }
        let listing = try downloader.listFiles(try RepoID(Self.repoID))
        #expect(listing.commit == Self.commit)
        #expect(listing.files.count == 5)
    }

    @Test func unsafeFileNamesInTheListingAreRefused() throws {
        let bad = FakeHubServer.Repo(commit: Self.commit, files: ["../../escape.txt": .init(content: Data("x".utf8), lfs: false)])
        let server = try FakeHubServer(repos: ["evil/repo": bad])
        defer { server.stop() }
        let cache = try Self.temporaryCache()
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        let downloader = try HubDownloader(cache: cache, endpoint: server.endpoint, timeout: 10)
        do {
            _ = try downloader.download(try RepoID("evil/repo"))
            Issue.record("an escaping file name was accepted")
        } catch {
            #expect(error.kind == .badResponse)
        }
    }
}
