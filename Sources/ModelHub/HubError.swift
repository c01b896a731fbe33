/// Why a model file could not be found or fetched, in one line a user can act on.
/// Every failure of this module is one of these.
package struct HubError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The broad class of the problem, for callers that branch on it; the message has the detail.
    package enum Kind: Sendable, Equatable {
        /// A repo id that is not `org/name` with allowed characters.
        case invalidRepo
        /// The endpoint could not be reached (DNS, refused connection, TLS, timeout).
        case network
        /// The server answered with an HTTP error status.
        case http(status: Int)
        /// The server's answer could not be understood (bad JSON, missing headers, unsafe file names).
        case badResponse
        /// A downloaded file's content does not match the checksum the server announced.
        case checksum
        /// A local file or directory could not be read, written or created, or the disk is too full.
        case io
        /// The repo (or one revision of it) is not in the local cache.
        case notInCache
        /// A model directory lacks files a Moshi model needs.
        case missingFiles
    }

    package let kind: Kind
    /// What is wrong and, where there is one, what to do about it.
    package let message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }
}
