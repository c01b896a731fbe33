import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Fetches one file into `blobs/ETAG` of a repo's cache folder: resumable (the bytes so far live
/// in `blobs/ETAG.incomplete` and the next run asks for the rest with a `Range` header) and checked
/// (the content must hash to the ETag; a mismatch deletes the partial file).
struct BlobDownload {
    let remote: RemoteFile
    let blobsDirectory: String
    let headers: [String: String]
    let timeout: TimeInterval
    let progress: DownloadProgress?

    var blobPath: String { HuggingFaceCache.join(blobsDirectory, remote.etag) }
    var incompletePath: String { blobPath + ".incomplete" }

    /// Whether the blob is already complete in the cache.
    var isCached: Bool {
        guard let size = Self.fileSize(blobPath) else { return false }
        return remote.size == nil || remote.size == size
    }

    /// Bytes kept from an earlier attempt.
    var resumableBytes: Int64 { Self.fileSize(incompletePath) ?? 0 }

    /// Downloads (or finishes downloading) the blob; returns its path.
    func run() throws(HubError) -> String {
        if isCached { return blobPath }
        do {
            try FileManager.default.createDirectory(atPath: blobsDirectory, withIntermediateDirectories: true)
        } catch {
            throw HubError(.io, "cannot create \(blobsDirectory): \(error.localizedDescription)")
        }
        var offset = resumableBytes
        if let size = remote.size, offset > size {
            try Self.remove(incompletePath)
            offset = 0
        }
        var digest = ContentDigest(etag: remote.etag, size: remote.size)
        try digest.update(fromFile: incompletePath, length: offset)
        if !FileManager.default.fileExists(atPath: incompletePath) {
            guard FileManager.default.createFile(atPath: incompletePath, contents: nil) else {
                throw HubError(.io, "cannot create \(incompletePath)")
            }
        }
        progress?.begin(file: remote.path, total: remote.size, resumedFrom: offset)

        if remote.size == nil || offset < remote.size! {
            offset = try fetch(from: offset, digest: &digest)
        }
        if let size = remote.size, offset != size {
            throw HubError(.network,
                "\(remote.path): the transfer ended after \(offset) of \(size) bytes; run the download again to resume")
        }
        if digest.size == nil { digest.size = offset }
        if digest.algorithm == .gitBlobSHA1, remote.size == nil {
            // The git header needs the size first: hash the finished file again (small files only).
            digest.reset(size: offset)
            try digest.update(fromFile: incompletePath, length: offset)
        }
        if let actual = digest.finalize(), actual != digest.expected {
            try? Self.remove(incompletePath)
            let name = digest.algorithm == .sha256 ? "sha256" : "git blob hash"
            throw HubError(.checksum,
                "\(remote.path): the downloaded content does not match its checksum (\(name) \(actual), expected \(digest.expected)); the partial file was deleted, run the download again")
        }
        do {
            if FileManager.default.fileExists(atPath: blobPath) { try FileManager.default.removeItem(atPath: blobPath) }
            try FileManager.default.moveItem(atPath: incompletePath, toPath: blobPath)
        } catch {
            throw HubError(.io, "cannot move \(incompletePath) to \(blobPath): \(error.localizedDescription)")
        }
        progress?.end()
        return blobPath
    }

    /// GETs the file from `offset` on (following the CDN redirect), appending to the `.incomplete`
    /// file and the digest; returns the size of the `.incomplete` file afterwards.
    private func fetch(from start: Int64, digest: inout ContentDigest) throws(HubError) -> Int64 {
        guard let handle = FileHandle(forWritingAtPath: incompletePath) else {
            throw HubError(.io, "cannot open \(incompletePath) for writing")
        }
        defer { try? handle.close() }
        do {
            try handle.truncate(atOffset: UInt64(start))
            try handle.seekToEnd()
        } catch {
            throw HubError(.io, "cannot prepare \(incompletePath): \(error.localizedDescription)")
        }

        var request = URLRequest(url: remote.url)
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if start > 0 { request.setValue("bytes=\(start)-", forHTTPHeaderField: "Range") }

        // State shared with the delegate callbacks, which run while this thread waits.
        final class State: @unchecked Sendable {
            var written: Int64 = 0
            var status = 0
            var errorBody = Data()
            var digest: ContentDigest
            init(written: Int64, digest: ContentDigest) {
                self.written = written
                self.digest = digest
            }
        }
        let state = State(written: start, digest: digest)
        let path = remote.path
        let incompletePath = self.incompletePath
        let progress = self.progress
        let size = remote.size
        var handlers = HTTPExchange.Handlers()
        handlers.response = { response in
            state.status = response.statusCode
            switch response.statusCode {
            case 206:
                return .receive
            case 200:
                if state.written > 0 {  // the server ignored the range: start over
                    state.written = 0
                    state.digest.reset(size: size)
                    try? handle.truncate(atOffset: 0)
                    progress?.restart()
                }
                return .receive
            default:
                return .receive  // an error page: keep a little of it for the message
            }
        }
        handlers.data = { data in
            guard state.status == 200 || state.status == 206 else {
                if state.errorBody.count < 512 { state.errorBody.append(data.prefix(512)) }
                return
            }
            do {
                try handle.write(contentsOf: data)
            } catch {
                throw HubError(.io, "cannot write \(incompletePath): \(error.localizedDescription)")
            }
            state.digest.update(data)
            state.written += Int64(data.count)
            progress?.advance(by: data.count)
        }

        let response: HTTPURLResponse
        do {
            response = try HTTPExchange.run(request, timeout: timeout, handlers: handlers)
        } catch let error as HubError {
            if error.kind == .network {
                throw HubError(.network, "\(path): \(error.message); \(state.written) bytes kept, run the download again to resume")
            }
            throw error
        } catch {
            throw HubError(.io, "\(path): \(error)")
        }
        switch response.statusCode {
        case 200, 206:
            if response.statusCode == 206, !Self.contentRange(response, startsAt: start) {
                try? Self.remove(incompletePath)
                throw HubError(.badResponse, "\(path): the server resumed at the wrong offset; the partial file was deleted, run the download again")
            }
        case 416:
            try? Self.remove(incompletePath)
            throw HubError(.http(status: 416), "\(path): the server refused to resume at byte \(start); the partial file was deleted, run the download again")
        default:
            let detail = String(decoding: state.errorBody, as: UTF8.self)
                .split(whereSeparator: \.isNewline).first.map { ": \($0.prefix(200))" } ?? ""
            throw HubError(.http(status: response.statusCode),
                "\(path): HTTP \(response.statusCode) from \(HTTPExchange.origin(of: response.url))\(detail)")
        }
        digest = state.digest
        return state.written
    }

    /// Whether a 206 answer's `Content-Range: bytes START-END/TOTAL` starts where we asked.
    static func contentRange(_ response: HTTPURLResponse, startsAt start: Int64) -> Bool {
        guard let value = response.value(forHTTPHeaderField: "Content-Range") else { return false }
        let digits = value.drop { !$0.isNumber }.prefix { $0.isNumber }
        return Int64(digits) == start
    }

    static func fileSize(_ path: String) -> Int64? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              (attributes[.type] as? FileAttributeType) == .typeRegular else { return nil }
        return (attributes[.size] as? NSNumber)?.int64Value
    }

    static func remove(_ path: String) throws(HubError) {
        do {
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        } catch {
            throw HubError(.io, "cannot delete \(path): \(error.localizedDescription)")
        }
    }
}
