import Foundation

/// The Hugging Face hub cache, laid out exactly as `huggingface_hub` and `huggingface-cli` write it,
/// so that files downloaded by either tool are found here and the other way round:
///
///     ROOT/models--ORG--NAME/refs/main              the commit hash `main` points to
///     ROOT/models--ORG--NAME/blobs/ETAG             file contents, named by their ETag (sha256 for LFS files)
///     ROOT/models--ORG--NAME/snapshots/HASH/FILE    symbolic links to ../../blobs/ETAG
package struct HuggingFaceCache: Sendable, Equatable {
    /// The cache directory (the `hub` folder).
    package let root: String

    /// A cache at an explicit directory (`--cache-dir`).
    package init(root: String) {
        self.root = root
    }

    /// The cache `huggingface_hub` would use with this environment; see `root(environment:)`.
    package init(environment: [String: String]) {
        self.root = Self.root(environment: environment)
    }

    /// `$HF_HUB_CACHE` (or its older name `$HUGGINGFACE_HUB_CACHE`), else `$HF_HOME/hub`, else
    /// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`. Empty variables count as
    /// unset; a leading `~` is the home directory (`$HOME`).
    package static func root(environment: [String: String]) -> String {
        func value(_ name: String) -> String? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            return expandingTilde(text, environment: environment)
        }
        if let hub = value("HF_HUB_CACHE") ?? value("HUGGINGFACE_HUB_CACHE") { return hub }
        if let home = value("HF_HOME") { return join(home, "hub") }
        if let xdg = value("XDG_CACHE_HOME") { return join(xdg, "huggingface/hub") }
        return join(homeDirectory(environment), ".cache/huggingface/hub")
    }

    // MARK: Paths

    /// `ROOT/models--ORG--NAME`.
    package func repoDirectory(_ repo: RepoID) -> String { Self.join(root, repo.cacheFolderName) }

    /// `ROOT/models--ORG--NAME/blobs`.
    package func blobsDirectory(_ repo: RepoID) -> String { Self.join(repoDirectory(repo), "blobs") }

    /// `ROOT/models--ORG--NAME/refs/REVISION` (the file holding the commit hash of a branch or tag).
    package func refPath(_ repo: RepoID, revision: String = "main") -> String {
        Self.join(Self.join(repoDirectory(repo), "refs"), revision)
    }

    /// `ROOT/models--ORG--NAME/snapshots/COMMIT`.
    package func snapshotDirectory(_ repo: RepoID, commit: String) -> String {
        Self.join(Self.join(repoDirectory(repo), "snapshots"), commit)
    }

    // MARK: Lookup

    /// The commit a revision stands for: the content of `refs/REVISION`, or the revision itself when
    /// it is a commit hash with a snapshot; nil when the cache does not know the revision.
    package func commit(for repo: RepoID, revision: String = "main") -> String? {
        if Self.isSafeName(revision), !revision.contains("/"),
           let text = try? String(contentsOfFile: refPath(repo, revision: revision), encoding: .utf8) {
            let hash = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if Self.isSafeName(hash), !hash.contains("/") { return hash }
        }
        if Self.isCommitHash(revision), Self.isDirectory(snapshotDirectory(repo, commit: revision)) { return revision }
        return nil
    }

    /// The snapshot directory of a revision (`main` by default), when it exists.
    package func snapshotDirectory(for repo: RepoID, revision: String = "main") -> String? {
        guard let commit = commit(for: repo, revision: revision) else { return nil }
        let directory = snapshotDirectory(repo, commit: commit)
        return Self.isDirectory(directory) ? directory : nil
    }

    /// Every snapshot directory of the repo: the one `refs/main` names first, then the others,
    /// most recently modified first. Empty when the repo is not in the cache.
    package func snapshotDirectories(for repo: RepoID) -> [String] {
        let snapshots = Self.join(repoDirectory(repo), "snapshots")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: snapshots)) ?? []
        let main = snapshotDirectory(for: repo)
        var dated: [(path: String, date: Date)] = []
        for name in names {
            let path = Self.join(snapshots, name)
            guard path != main, Self.isDirectory(path) else { continue }
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            dated.append((path, attributes?[.modificationDate] as? Date ?? .distantPast))
        }
        dated.sort { $0.date != $1.date ? $0.date > $1.date : $0.path < $1.path }
        let others: [String] = dated.map(\.path)
        return (main.map { [$0] } ?? []) + others
    }

    /// The cached path of one file of a revision, when it is there (a dangling link counts as absent).
    package func cachedFile(_ file: String, repo: RepoID, revision: String = "main") -> String? {
        guard let directory = snapshotDirectory(for: repo, revision: revision) else { return nil }
        let path = Self.join(directory, file)
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    // MARK: Helpers

    static func join(_ directory: String, _ component: String) -> String {
        (directory as NSString).appendingPathComponent(component)
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// A 40-digit lower-case hexadecimal git commit hash.
    static func isCommitHash(_ text: String) -> Bool {
        text.utf8.count == 40 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// A name that is safe as one path component or a relative path inside a directory: no empty,
    /// `.` or `..` components, not absolute, no backslashes or control characters.
    static func isSafeName(_ text: String) -> Bool {
        guard !text.isEmpty, !text.hasPrefix("/"), !text.contains("\\") else { return false }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return false }
        return text.split(separator: "/", omittingEmptySubsequences: false)
            .allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    static func homeDirectory(_ environment: [String: String]) -> String {
        if let home = environment["HOME"], !home.isEmpty { return home }
        return NSHomeDirectory()
    }

    static func expandingTilde(_ path: String, environment: [String: String]) -> String {
        if path == "~" { return homeDirectory(environment) }
        if path.hasPrefix("~/") { return join(homeDirectory(environment), String(path.dropFirst(2))) }
        return path
    }
}
