import Crypto
import Foundation

/// The checksum an ETag stands for, computed over the content as it streams in.
///
/// Hugging Face names LFS files by the sha256 of their content (64 hex digits) and small files by
/// their git blob hash (40 hex digits: sha1 of `blob SIZE\0` + content). Any other ETag cannot be
/// checked and is only used as the blob's name.
struct ContentDigest {
    enum Algorithm: Equatable {
        case sha256
        case gitBlobSHA1
        case none
    }

    let algorithm: Algorithm
    let expected: String
    /// The full size, needed before the first byte for a git blob hash.
    var size: Int64?
    private var sha256 = SHA256()
    private var sha1 = Insecure.SHA1()
    private var sha1Started = false

    init(etag: String, size: Int64?) {
        self.size = size
        expected = etag.lowercased()
        let hex = expected.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
        algorithm = !hex ? .none : expected.utf8.count == 64 ? .sha256 : expected.utf8.count == 40 ? .gitBlobSHA1 : .none
    }

    /// Starts over (the server sent the whole file again); `size` is the full size for the git header.
    mutating func reset(size: Int64?) {
        sha256 = SHA256()
        sha1 = Insecure.SHA1()
        sha1Started = false
        self.size = size
    }

    mutating func update(_ data: Data) {
        switch algorithm {
        case .sha256:
            sha256.update(data: data)
        case .gitBlobSHA1:
            if !sha1Started {
                sha1.update(data: Data("blob \(size ?? 0)\0".utf8))
                sha1Started = true
            }
            sha1.update(data: data)
        case .none:
            break
        }
    }

    /// The hex digest of everything passed to `update`, or nil when the ETag cannot be checked
    /// (a git blob hash needs the size up front).
    func finalize() -> String? {
        switch algorithm {
        case .sha256: return Self.hex(sha256.finalize())
        case .gitBlobSHA1: return size == nil ? nil : Self.hex(sha1.finalize())
        case .none: return nil
        }
    }

    /// Feeds the first `length` bytes of a file, 8 MB at a time (the part of a download kept from before).
    mutating func update(fromFile path: String, length: Int64) throws(HubError) {
        guard length > 0, algorithm != .none else { return }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw HubError(.io, "cannot read \(path) to resume the download")
        }
        defer { try? handle.close() }
        var left = length
        while left > 0 {
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: Int(min(left, 8 << 20))) ?? Data()
            } catch {
                throw HubError(.io, "cannot read \(path): \(error.localizedDescription)")
            }
            guard !chunk.isEmpty else { throw HubError(.io, "\(path) is shorter than expected") }
            update(chunk)
            left -= Int64(chunk.count)
        }
    }

    private static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
