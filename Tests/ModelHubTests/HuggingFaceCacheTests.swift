import Foundation
import Testing
@testable import ModelHub

/// Where the hub cache is, and how a repo's snapshot is found in it.
@Suite struct HuggingFaceCacheTests {
    @Test func rootFollowsHuggingFaceHubPrecedence() {
        let home = ["HOME": "/home/u"]
        #expect(HuggingFaceCache.root(environment: home) == "/home/u/.cache/huggingface/hub")
        #expect(HuggingFaceCache.root(environment: home.merging(["XDG_CACHE_HOME": "/xdg"]) { $1 }) == "/xdg/huggingface/hub")
        #expect(HuggingFaceCache.root(environment: home.merging(["XDG_CACHE_HOME": "/xdg", "HF_HOME": "/hf"]) { $1 }) == "/hf/hub")
        #expect(HuggingFaceCache.root(environment: ["HF_HOME": "/hf", "HF_HUB_CACHE": "/hub"]) == "/hub")
        #expect(HuggingFaceCache.root(environment: ["HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/old"]) == "/old")
        #expect(HuggingFaceCache.root(environment: ["HUGGINGFACE_HUB_CACHE": "/old", "HF_HUB_CACHE": "/new"]) == "/new")
        // Empty variables count as unset; "~" is $HOME.
        #expect(HuggingFaceCache.root(environment: home.merging(["HF_HUB_CACHE": "", "HF_HOME": "~/hf"]) { $1 }) == "/home/u/hf/hub")
        #expect(HuggingFaceCache(environment: ["HF_HUB_CACHE": "/x"]).root == "/x")
    }

    @Test func repoIDsAreCheckedAndMappedToFolders() throws {
        let repo = try RepoID("kyutai/moshiko-pytorch-bf16")
        #expect(repo.owner == "kyutai")
        #expect(repo.name == "moshiko-pytorch-bf16")
        #expect(repo.description == "kyutai/moshiko-pytorch-bf16")
        #expect(repo.cacheFolderName == "models--kyutai--moshiko-pytorch-bf16")
        #expect(try RepoID("gpt2").cacheFolderName == "models--gpt2")
        for bad in ["", "/", "a/b/c", "kyutai/", "../x", "kyutai/..", "a--b/c", "kyutai/x y", "kyutai/-x", "kyutai/x.", "k\u{e9}/x"] {
            #expect(throws: HubError.self, "\(bad)") { try RepoID(bad) }
        }
        let cache = HuggingFaceCache(root: "/c")
        #expect(cache.repoDirectory(repo) == "/c/models--kyutai--moshiko-pytorch-bf16")
        #expect(cache.refPath(repo) == "/c/models--kyutai--moshiko-pytorch-bf16/refs/main")
        #expect(cache.snapshotDirectory(repo, commit: "abc") == "/c/models--kyutai--moshiko-pytorch-bf16/snapshots/abc")
    }

    /// A cache tree like huggingface-cli leaves it: refs/main, two snapshots, links into blobs.
    static func makeTree(refsMain: String?) throws -> (HuggingFaceCache, RepoID, String, String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("hfcache-\(UUID().uuidString)").path
        let cache = HuggingFaceCache(root: root)
        let repo = try RepoID("kyutai/moshika-mlx-q4")
        let old = "1111111111111111111111111111111111111111"
        let new = "2222222222222222222222222222222222222222"
        let manager = FileManager.default
        try manager.createDirectory(atPath: cache.blobsDirectory(repo), withIntermediateDirectories: true)
        try Data("q4".utf8).write(to: URL(fileURLWithPath: cache.blobsDirectory(repo) + "/aaaa"))
        for commit in [old, new] {
            let snapshot = cache.snapshotDirectory(repo, commit: commit)
            try manager.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
            try manager.createSymbolicLink(atPath: snapshot + "/model.q4.safetensors", withDestinationPath: "../../blobs/aaaa")
        }
        try manager.createSymbolicLink(atPath: cache.snapshotDirectory(repo, commit: old) + "/dangling.json",
                                       withDestinationPath: "../../blobs/missing")
        // The old snapshot is the most recently modified one.
        try manager.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000)], ofItemAtPath: cache.snapshotDirectory(repo, commit: new))
        try manager.setAttributes([.modificationDate: Date(timeIntervalSince1970: 2_000)], ofItemAtPath: cache.snapshotDirectory(repo, commit: old))
        if let refsMain {
            try manager.createDirectory(atPath: cache.repoDirectory(repo) + "/refs", withIntermediateDirectories: true)
            try Data((refsMain == "new" ? new : refsMain).utf8).write(to: URL(fileURLWithPath: cache.refPath(repo)))
        }
        return (cache, repo, old, new)
    }

    @Test func refsMainPicksTheSnapshot() throws {
        let (cache, repo, old, new) = try Self.makeTree(refsMain: "new")
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        #expect(cache.commit(for: repo) == new)
        #expect(cache.snapshotDirectory(for: repo) == cache.snapshotDirectory(repo, commit: new))
        // refs/main's snapshot first, then the others newest first.
        #expect(cache.snapshotDirectories(for: repo) == [cache.snapshotDirectory(repo, commit: new), cache.snapshotDirectory(repo, commit: old)])
        #expect(cache.cachedFile("model.q4.safetensors", repo: repo) == cache.snapshotDirectory(repo, commit: new) + "/model.q4.safetensors")
        #expect(cache.cachedFile("config.json", repo: repo) == nil)
        // A commit hash works as a revision; a dangling link counts as absent.
        #expect(cache.commit(for: repo, revision: old) == old)
        #expect(cache.cachedFile("dangling.json", repo: repo, revision: old) == nil)
        #expect(cache.commit(for: repo, revision: "v2") == nil)
        #expect(cache.snapshotDirectories(for: try RepoID("kyutai/absent")).isEmpty)
    }

    @Test func withoutRefsMainSnapshotsAreNewestFirst() throws {
        let (cache, repo, old, new) = try Self.makeTree(refsMain: nil)
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        #expect(cache.snapshotDirectory(for: repo) == nil)
        #expect(cache.snapshotDirectories(for: repo) == [cache.snapshotDirectory(repo, commit: old), cache.snapshotDirectory(repo, commit: new)])
    }

    @Test func unsafeRefContentIsIgnored() throws {
        let (cache, repo, _, _) = try Self.makeTree(refsMain: "../../../etc")
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        #expect(cache.commit(for: repo) == nil)
    }

    @Test func safeNamesRejectEscapes() {
        for good in ["model.safetensors", "docs/a.txt", "a/b/c"] { #expect(HuggingFaceCache.isSafeName(good), "\(good)") }
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a//b", "a/", "./a", "a\\b", "a\nb"] {
            #expect(!HuggingFaceCache.isSafeName(bad), "\(bad)")
        }
    }

    @Test func downloaderTakesItsSettingsFromTheEnvironment() throws {
        let downloader = try HubDownloader(environment: ["HF_ENDPOINT": "https://mirror.example/", "HF_TOKEN": "t", "HF_HOME": "/data/hf"])
        #expect(downloader.endpoint.absoluteString == "https://mirror.example")
        #expect(downloader.token == "t")
        #expect(downloader.cache.root == "/data/hf/hub")
        let defaults = try HubDownloader(environment: ["HOME": "/home/u", "HF_TOKEN": ""], cacheRoot: "/cache")
        #expect(defaults.endpoint.absoluteString == "https://huggingface.co")
        #expect(defaults.token == nil)
        #expect(defaults.cache.root == "/cache")
        #expect(throws: HubError.self) { try HubDownloader(environment: ["HF_ENDPOINT": "ftp://x"]) }
        #expect(throws: HubError.self) { try HubDownloader(environment: ["HF_ENDPOINT": "not a url"]) }
    }
}
