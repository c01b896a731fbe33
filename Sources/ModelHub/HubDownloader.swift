import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Downloads a Hugging Face repo's files into the hub cache, in the layout `huggingface_hub` uses
/// (see `HuggingFaceCache`), so `huggingface-cli` and `moshi` share one copy.
///
/// For each file: a `HEAD` of `ENDPOINT/REPO/resolve/COMMIT/FILE` gives its ETag and size, the
/// content goes to `blobs/ETAG` (resumed from `blobs/ETAG.incomplete` when an earlier run was cut
/// off, checked against the sha256 / git hash the ETag stands for) and `snapshots/COMMIT/FILE`
/// becomes a relative symbolic link to it; `refs/REVISION` gets the commit last.
/// Runs synchronously; no network gives one clear error, never a hang (idle timeout `timeout`).
package struct HubDownloader: Sendable {
    /// The cache the files go to.
    package let cache: HuggingFaceCache
    /// The hub (`https://huggingface.co`, or `HF_ENDPOINT`).
    package let endpoint: URL
    /// A Hugging Face access token for private or gated repos (`HF_TOKEN`); Kyutai's repos need none.
    package let token: String?
    /// Seconds without any byte arriving before a request fails.
    package let timeout: TimeInterval

    /// A downloader for `endpoint`; an endpoint that is not an http(s) URL is an error.
    package init(cache: HuggingFaceCache, endpoint: String = ModelHub.defaultEndpoint, token: String? = nil,
                timeout: TimeInterval = 30) throws(HubError) {
        let trimmed = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        guard let url = URL(string: trimmed), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
              url.host != nil else {
            throw HubError(.badResponse, "'\(endpoint)' is not an http(s) URL for the Hugging Face endpoint (HF_ENDPOINT)")
        }
        self.cache = cache
        self.endpoint = url
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        self.timeout = timeout
    }

    /// A downloader configured like `huggingface_hub`: endpoint `HF_ENDPOINT`, token `HF_TOKEN`, and
    /// the cache `cacheRoot` when given (`--cache-dir`), else the one the environment names.
    package init(environment: [String: String], cacheRoot: String? = nil, timeout: TimeInterval = 30) throws(HubError) {
        let cache = cacheRoot.map(HuggingFaceCache.init(root:)) ?? HuggingFaceCache(environment: environment)
        let endpoint = environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? ModelHub.defaultEndpoint
        try self.init(cache: cache, endpoint: endpoint, token: environment["HF_TOKEN"], timeout: timeout)
    }

    // MARK: Listing

    /// The files of `repo` at `revision` and the commit it points to.
    package func listFiles(_ repo: RepoID, revision: String = "main") throws(HubError) -> RepoListing {
        let url = try makeURL("api/models/\(repo)/revision/\(try Self.checkedRevision(revision))")
        var body = Data()
        var handlers = HTTPExchange.Handlers()
        handlers.data = { data in
            guard body.count + data.count <= 32 << 20 else {
                throw HubError(.badResponse, "\(url.absoluteString): the file list is larger than 32 MB")
            }
            body.append(data)
        }
        let response = try run(request(url, method: "GET"), handlers: handlers)
        guard response.statusCode == 200 else {
            throw httpError(response.statusCode, what: "\(repo) (revision \(revision))", url: url)
        }
        return try RepoListing(json: body, source: url.absoluteString)
    }

    // MARK: Downloading

    /// What a download produced.
    package struct Result: Sendable, Equatable {
        package let repo: RepoID
        /// The commit the files are from.
        package let commit: String
        /// `snapshots/COMMIT` in the cache: a directory to pass as `--model-dir`.
        package let snapshotDirectory: String
        /// The files (repo paths) now in the snapshot.
        package let files: [String]
        /// Bytes that came over the network in this run.
        package let downloadedBytes: Int64

        package init(repo: RepoID, commit: String, snapshotDirectory: String, files: [String], downloadedBytes: Int64) {
            self.repo = repo
            self.commit = commit
            self.snapshotDirectory = snapshotDirectory
            self.files = files
            self.downloadedBytes = downloadedBytes
        }
    }

    /// Downloads the files of `repo` at `revision` that match `include` (every file when empty).
    /// Files already in the cache are not fetched again; a partial file is resumed.
    package func download(_ repo: RepoID, revision: String = "main", include: [FilePattern] = [],
                         progress: DownloadProgress? = nil) throws(HubError) -> Result {
        let listing = try listFiles(repo, revision: revision)
        let files = FilePattern.select(listing.files, including: include)
        guard !files.isEmpty else {
            let patterns = include.map(\.pattern).joined(separator: " ")
            throw HubError(.missingFiles,
                "no file of \(repo) matches --include \(patterns); its files: \(listing.files.joined(separator: ", "))")
        }
        let blobs = cache.blobsDirectory(repo)
        let downloads = try files.map { file throws(HubError) in
            BlobDownload(remote: try metadata(repo, commit: listing.commit, file: file), blobsDirectory: blobs,
                         headers: commonHeaders, timeout: timeout, progress: progress)
        }
        try checkFreeSpace(for: downloads)

        let snapshot = cache.snapshotDirectory(repo, commit: listing.commit)
        var downloaded: Int64 = 0
        for download in downloads {
            if download.isCached {
                progress?.skipped(file: download.remote.path, size: download.remote.size)
            } else {
                let before = download.resumableBytes
                _ = try download.run()
                downloaded += (BlobDownload.fileSize(download.blobPath) ?? 0) - before
            }
            try link(snapshot: snapshot, file: download.remote.path, etag: download.remote.etag)
        }
        if revision != listing.commit {
            try write(listing.commit, to: cache.refPath(repo, revision: revision))
        }
        return Result(repo: repo, commit: listing.commit, snapshotDirectory: snapshot, files: files, downloadedBytes: downloaded)
    }

    /// `HEAD` of a file's resolve URL without following the CDN redirect (whose headers are the
    /// CDN's): the ETag and size of the file. Relative redirects (a renamed repo) are followed.
    func metadata(_ repo: RepoID, commit: String, file: String) throws(HubError) -> RemoteFile {
        let url = try makeURL("\(repo)/resolve/\(commit)/\(file)")
        var current = url
        for _ in 0..<5 {
            let response = try run(request(current, method: "HEAD"), followRedirects: false)
            let linked = response.value(forHTTPHeaderField: "X-Linked-Etag")
            if (300..<400).contains(response.statusCode), linked == nil,
               let location = response.value(forHTTPHeaderField: "Location"),
               let next = URL(string: location, relativeTo: current)?.absoluteURL, next.host == current.host {
                current = next
                continue
            }
            guard (200..<400).contains(response.statusCode) else {
                throw httpError(response.statusCode, what: "\(repo)/\(file)", url: current)
            }
            guard let etag = RemoteFile.normalizeETag(linked ?? response.value(forHTTPHeaderField: "ETag")) else {
                throw HubError(.badResponse, "\(current.absoluteString): no usable ETag header, cannot name or check the file")
            }
            let sizeText = response.value(forHTTPHeaderField: "X-Linked-Size")
                ?? (linked == nil ? response.value(forHTTPHeaderField: "Content-Length") : nil)
            return RemoteFile(path: file, url: current, etag: etag, size: sizeText.flatMap { Int64($0) })
        }
        throw HubError(.badResponse, "\(url.absoluteString): too many redirects")
    }

    // MARK: Cache writing

    /// `snapshots/COMMIT/FILE` → `../../blobs/ETAG` (one more `../` per folder in FILE).
    private func link(snapshot: String, file: String, etag: String) throws(HubError) {
        let path = HuggingFaceCache.join(snapshot, file)
        let depth = file.split(separator: "/").count - 1
        let target = String(repeating: "../", count: depth + 2) + "blobs/" + etag
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if (try? manager.destinationOfSymbolicLink(atPath: path)) == target { return }
            if (try? manager.attributesOfItem(atPath: path)) != nil { try manager.removeItem(atPath: path) }
            try manager.createSymbolicLink(atPath: path, withDestinationPath: target)
        } catch {
            throw HubError(.io, "cannot link \(path) to \(target): \(error.localizedDescription)")
        }
    }

    private func write(_ text: String, to path: String) throws(HubError) {
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw HubError(.io, "cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Fails before downloading when the files left to fetch do not fit on the cache's file system.
    private func checkFreeSpace(for downloads: [BlobDownload]) throws(HubError) {
        let needed = downloads.filter { !$0.isCached }.reduce(Int64(0)) { total, download in
            total + max(0, (download.remote.size ?? 0) - download.resumableBytes)
        }
        guard needed > 0 else { return }
        var directory = cache.root
        while !FileManager.default.fileExists(atPath: directory), directory != "/", !directory.isEmpty {
            directory = (directory as NSString).deletingLastPathComponent
        }
        guard let attributes = try? FileManager.default.attributesOfFileSystem(forPath: directory),
              let free = (attributes[.systemFreeSize] as? NSNumber)?.int64Value else { return }
        if needed > free {
            throw HubError(.io, "the download needs \(DownloadProgress.formatBytes(needed)) but \(directory) has "
                + "\(DownloadProgress.formatBytes(free)) free; free some space or pass --cache-dir")
        }
    }

    // MARK: HTTP

    private var commonHeaders: [String: String] {
        var headers = ["User-Agent": "swift-moshi", "Accept-Encoding": "identity"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        return headers
    }

    private func request(_ url: URL, method: String) -> URLRequest {
        var request = URLRequest(url: url)
        request.httpMethod = method
        for (name, value) in commonHeaders { request.setValue(value, forHTTPHeaderField: name) }
        return request
    }

    private func run(_ request: URLRequest, followRedirects: Bool = true,
                     handlers: HTTPExchange.Handlers = HTTPExchange.Handlers()) throws(HubError) -> HTTPURLResponse {
        do {
            return try HTTPExchange.run(request, followRedirects: followRedirects, timeout: timeout, handlers: handlers)
        } catch let error as HubError {
            guard error.kind == .network else { throw error }
            throw HubError(.network, "\(error.message); download the files elsewhere and pass --model-dir")
        } catch {
            throw HubError(.network, "\(error); download the files elsewhere and pass --model-dir")
        }
    }

    private func makeURL(_ path: String) throws(HubError) -> URL {
        let encoded = path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path
        guard let url = URL(string: endpoint.absoluteString + "/" + encoded) else {
            throw HubError(.badResponse, "cannot build a URL for \(path)")
        }
        return url
    }

    private func httpError(_ status: Int, what: String, url: URL) -> HubError {
        let reason = switch status {
        case 401, 403: "access denied; the repo may be private or gated (set HF_TOKEN)"
        case 404: "not found; check the repo id and the file name"
        case 429: "rate limited; try again later"
        case 500...: "server error; try again later"
        default: "unexpected answer"
        }
        return HubError(.http(status: status), "\(what): HTTP \(status) from \(HTTPExchange.origin(of: url)): \(reason)")
    }

    /// A branch, tag or commit name usable in a URL path and as `refs/NAME`.
    private static func checkedRevision(_ revision: String) throws(HubError) -> String {
        guard HuggingFaceCache.isSafeName(revision) else {
            throw HubError(.invalidRepo, "'\(revision)' is not a usable revision name")
        }
        return revision
    }
}
