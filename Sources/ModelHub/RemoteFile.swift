import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A repo's file list at one commit (`GET /api/models/REPO/revision/REV`: `sha`, `siblings[].rfilename`).
package struct RepoListing: Sendable, Equatable {
    /// The commit the revision points to.
    package let commit: String
    /// Every file's path in the repo, as listed.
    package let files: [String]

    /// Parses the API's JSON; file names that could escape the snapshot folder are rejected.
    init(json data: Data, source: String) throws(HubError) {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw HubError(.badResponse, "\(source): the answer is not a JSON object")
        }
        guard let commit = object["sha"] as? String, HuggingFaceCache.isSafeName(commit), !commit.contains("/") else {
            throw HubError(.badResponse, "\(source): no usable commit hash ('sha') in the answer")
        }
        guard let siblings = object["siblings"] as? [[String: Any]] else {
            throw HubError(.badResponse, "\(source): no file list ('siblings') in the answer")
        }
        var files: [String] = []
        for sibling in siblings {
            guard let name = sibling["rfilename"] as? String else {
                throw HubError(.badResponse, "\(source): a file entry has no 'rfilename'")
            }
            guard HuggingFaceCache.isSafeName(name) else {
                throw HubError(.badResponse, "\(source): refusing the unsafe file name '\(name)'")
            }
            files.append(name)
        }
        self.commit = commit
        self.files = files
    }
}

/// What a `HEAD` of a file's resolve URL says about it: the ETag that names its blob (the sha256 of
/// the content for LFS files, `X-Linked-Etag`; the git blob hash for small files, `ETag`) and its size.
struct RemoteFile: Sendable, Equatable {
    /// The file's path in the repo.
    let path: String
    /// The resolve URL (`ENDPOINT/REPO/resolve/COMMIT/PATH`).
    let url: URL
    /// The normalized ETag: no quotes, no `W/`.
    let etag: String
    /// The size in bytes, when the server said (`X-Linked-Size`, else `Content-Length`).
    let size: Int64?

    /// Checks and normalizes an ETag header value: `W/"abc"` → `abc`; nil when it is unusable as a
    /// file name.
    static func normalizeETag(_ value: String?) -> String? {
        guard var text = value?.trimmingCharacters(in: .whitespaces) else { return nil }
        if text.hasPrefix("W/") { text.removeFirst(2) }
        text = text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        guard !text.isEmpty, text.count <= 128,
              text.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") })
        else { return nil }
        return text
    }
}
