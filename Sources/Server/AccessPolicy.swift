import NIOHTTP1

/// Who may open a conversation (Docs/PROTOCOL.md, "Access"): browsers only from allowed
/// origins (the WebSocket `Origin` check), and, when `authToken` is set, only clients that
/// present it: `Authorization: Bearer TOKEN` or `?token=TOKEN` on `/api/chat`, `"token"` in the
/// framed handshake JSON, a `MOSHI_TOKEN=TOKEN` comment in the plain Ogg stream's OpusTags.
package struct AccessPolicy: Sendable, Equatable {
    /// The shared secret every client must present; nil (or empty): none needed.
    package var authToken: String?
    /// Origins allowed for `/api/chat` besides the default ones (the host the request was sent
    /// to, and localhost / 127.0.0.1 / [::1] on any port): `scheme://host[:port]`, compared
    /// without case; `*` allows every origin.
    package var allowedOrigins: [String]

    package init(authToken: String? = nil, allowedOrigins: [String] = []) {
        self.authToken = authToken
        self.allowedOrigins = allowedOrigins
    }

    /// Whether clients must present a token.
    package var requiresToken: Bool { !(authToken ?? "").isEmpty }

    /// Whether `presented` is the token (constant time in the token's length); true when no
    /// token is required.
    package func accepts(token presented: String?) -> Bool {
        guard let expected = authToken, !expected.isEmpty else { return true }
        guard let presented else { return false }
        let a = Array(expected.utf8), b = Array(presented.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<a.count { difference |= a[i] ^ (i < b.count ? b[i] : 0) }
        return difference == 0
    }

    /// Whether a browser page at `origin` may open `/api/chat` on a request sent to
    /// `hostHeader` (the `Host` header). No `Origin` (not a browser) is allowed: browsers always
    /// send one on a WebSocket upgrade.
    package func allows(origin: String?, hostHeader: String?) -> Bool {
        guard let origin else { return true }
        let wanted = origin.lowercased()
        if allowedOrigins.contains(where: { $0 == "*" || $0.lowercased() == wanted }) { return true }
        guard let originHost = Self.hostName(ofOrigin: wanted) else { return false }  // "null", garbage
        if ["localhost", "127.0.0.1", "[::1]"].contains(originHost) { return true }
        guard let hostHeader, let requested = Self.hostName(ofAuthority: hostHeader.lowercased()) else { return false }
        return originHost == requested
    }

    /// Why `head` (an upgrade to `/api/chat`) is refused, or nil when it may go on.
    func refusal(of head: HTTPRequestHead) -> Refusal? {
        let origin = head.headers.first(name: "Origin")
        guard allows(origin: origin, hostHeader: head.headers.first(name: "Host")) else {
            return Refusal(status: .forbidden, reason: "origin \(origin ?? "") is not allowed (server.allowed_origins)")
        }
        guard requiresToken else { return nil }
        var presented = WebSocketChat.query(of: head.uri)["token"].map(Self.percentDecoded)
        if let authorization = head.headers.first(name: "Authorization"), authorization.lowercased().hasPrefix("bearer ") {
            presented = String(authorization.dropFirst(7)).trimmingCharacters(in: " ")
        }
        guard presented != nil else { return Refusal(status: .unauthorized, reason: "a token is required (Authorization: Bearer, or ?token=)") }
        guard accepts(token: presented) else { return Refusal(status: .unauthorized, reason: "wrong token") }
        return nil
    }

    /// An HTTP refusal: 403 for a foreign origin, 401 for a missing or wrong token.
    struct Refusal: Equatable {
        let status: HTTPResponseStatus
        let reason: String
    }

    /// Whether `host` (an address to bind) is this machine only: 127.0.0.0/8, ::1, localhost.
    package static func isLoopback(host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: "[]")
        return h == "localhost" || h == "::1" || h.hasPrefix("127.")
    }

    /// The host name of `scheme://host[:port][/...]`, or nil.
    static func hostName(ofOrigin origin: String) -> String? {
        guard let range = origin.range(of: "://") else { return nil }
        let rest = origin[range.upperBound...]
        return hostName(ofAuthority: String(rest.prefix { $0 != "/" }))
    }

    /// The host of `host[:port]` or `[v6]:port`.
    static func hostName(ofAuthority authority: String) -> String? {
        guard !authority.isEmpty else { return nil }
        if authority.hasPrefix("[") {
            guard let end = authority.firstIndex(of: "]") else { return nil }
            return String(authority[...end])
        }
        return String(authority.prefix { $0 != ":" })
    }

    /// `%XX` sequences decoded (a token in a URL query may be percent-encoded).
    static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let hi = iterator.next(), let lo = iterator.next(),
               let value = UInt8(String(decoding: [hi, lo], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}

/// The configuration would expose the server to the network with no token.
package struct ServerExposureError: Error, CustomStringConvertible {
    package let host: String
    package var description: String {
        "refusing to listen on \(host) without a token: anyone who can reach it could take the session slots. "
            + "Set server.auth_token (or --auth-token, MOSHI_AUTH_TOKEN), listen on 127.0.0.1 behind a proxy, "
            + "or pass --insecure-no-auth (server.insecure_no_auth = true) if the network is trusted"
    }
}
