/// The browser client `moshi serve` answers plain HTTP with: one page, its script and its
/// audio worklets (`Assets/`), compiled into the binary, so an installed daemon needs no
/// resource folder and the page needs no network (no CDN, no build step).
package enum WebClientAssets {
    /// One file of the page.
    package struct Asset: Sendable {
        package let contentType: String
        package let body: [UInt8]
    }

    /// The asset served at `path` (the request path without its query), or nil.
    package static func asset(at path: String) -> Asset? {
        switch path {
        case "/", "/index.html": Asset(contentType: "text/html; charset=utf-8", body: PackageResources.index_html)
        case "/client.js": Asset(contentType: "text/javascript; charset=utf-8", body: PackageResources.client_js)
        case "/worklets.js": Asset(contentType: "text/javascript; charset=utf-8", body: PackageResources.worklets_js)
        default: nil
        }
    }

    /// Every path `asset(at:)` answers.
    package static let paths = ["/", "/index.html", "/client.js", "/worklets.js"]
}
