@testable import MoshiClient
import AudioIO
import Engine
import Foundation
import Testing
@testable import Server

/// `server.allowed_origins`, `server.auth_token` and the refusal to listen beyond loopback
/// without a token (Docs/PROTOCOL.md, "Access").
@Suite(.serialized) struct AccessTests {
    /// The raw response to an upgrade of `path` with `headers` (no Host unless given).
    static func upgrade(port: Int, path: String = "/api/chat", headers: [String]) throws -> (status: String, frames: [(UInt8, [UInt8])]) {
        let socket = RawSocket(fd: try FramedClient.connect(host: "127.0.0.1", port: port))
        defer { close(socket.fd) }
        let request = (["GET \(path) HTTP/1.1"] + headers + ["Upgrade: websocket", "Connection: Upgrade",
                                                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", "", ""])
            .joined(separator: "\r\n")
        socket.send(Array(request.utf8))
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(socket.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        // The first response (and the handshake frame, when upgraded) arrives within the timeout.
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            bytes += buffer[0..<n]
            let parsed = WebSocketTestClient.parse(bytes)
            if parsed.status.contains(" 101 "), !parsed.frames.isEmpty { break }
        }
        return WebSocketTestClient.parse(bytes)
    }

    // MARK: Origin

    @Test func aForeignOriginGets403AndIsCounted() throws {
        let server = try makeTestServer()
        defer { server.shutdown() }
        let reply = try Self.upgrade(port: server.port, headers: ["Host: 127.0.0.1:\(server.port)", "Origin: https://evil.example"])
        #expect(reply.status.hasPrefix("HTTP/1.1 403"))
        #expect(reply.frames.isEmpty)
        #expect(server.statistics.snapshot.sessionsOpened == 0)
        #expect(server.statistics.snapshot.sessionsRejected == 1)
    }

    @Test func theSameHostAndLocalhostAndNoOriginAreAllowed() throws {
        let server = try makeTestServer()
        defer { server.shutdown() }
        for headers in [["Host: 127.0.0.1:\(server.port)", "Origin: http://127.0.0.1:\(server.port)"],
                        ["Host: 127.0.0.1:\(server.port)", "Origin: http://localhost:3000"],
                        ["Host: 127.0.0.1:\(server.port)"]] {
            let reply = try Self.upgrade(port: server.port, headers: headers)
            #expect(reply.status.hasPrefix("HTTP/1.1 101"), "\(headers)")
            #expect(reply.frames.first?.1.first == MessageKind.handshake.rawValue, "\(headers)")
        }
    }

    @Test func originRules() {
        let policy = AccessPolicy()
        #expect(policy.allows(origin: "https://moshi.example.org", hostHeader: "moshi.example.org"))
        #expect(policy.allows(origin: "http://moshi.lan:8998", hostHeader: "moshi.lan:8998"))
        #expect(policy.allows(origin: "http://[::1]:5173", hostHeader: "moshi.lan"))
        #expect(!policy.allows(origin: "https://moshi.example.org.evil.com", hostHeader: "moshi.example.org"))
        #expect(!policy.allows(origin: "null", hostHeader: "127.0.0.1:8998"))
        #expect(!policy.allows(origin: "https://evil.example", hostHeader: nil))
        #expect(policy.allows(origin: nil, hostHeader: nil))
        let listed = AccessPolicy(allowedOrigins: ["https://app.example.com"])
        #expect(listed.allows(origin: "HTTPS://APP.example.com", hostHeader: "moshi.lan"))
        #expect(!listed.allows(origin: "https://app.example.com:444", hostHeader: "moshi.lan"))
        #expect(AccessPolicy(allowedOrigins: ["*"]).allows(origin: "https://anything.example", hostHeader: "moshi.lan"))
    }

    // MARK: Token

    @Test func webSocketNeedsTheRightToken() throws {
        let server = try makeTestServer { $0.access = AccessPolicy(authToken: "s3cret/+") }
        defer { server.shutdown() }
        let host = "Host: 127.0.0.1:\(server.port)"
        let missing = try Self.upgrade(port: server.port, headers: [host])
        #expect(missing.status.hasPrefix("HTTP/1.1 401"))
        let wrong = try Self.upgrade(port: server.port, path: "/api/chat?token=s3cret", headers: [host])
        #expect(wrong.status.hasPrefix("HTTP/1.1 401"))
        let wrongBearer = try Self.upgrade(port: server.port, headers: [host, "Authorization: Bearer s3cret/"])
        #expect(wrongBearer.status.hasPrefix("HTTP/1.1 401"))
        #expect(server.statistics.snapshot.sessionsOpened == 0)
        let query = try Self.upgrade(port: server.port, path: "/api/chat?seed=1&token=s3cret%2F%2B", headers: [host])
        #expect(query.status.hasPrefix("HTTP/1.1 101"))
        #expect(query.frames.first?.1.first == MessageKind.handshake.rawValue)
        let bearer = try Self.upgrade(port: server.port, headers: [host, "Authorization: Bearer s3cret/+"])
        #expect(bearer.status.hasPrefix("HTTP/1.1 101"))
        #expect(server.statistics.snapshot.sessionsRejected == 3)
    }

    @Test func framedClientsNeedTheRightToken() throws {
        let server = try makeTestServer { $0.access = AccessPolicy(authToken: "t0ken") }
        defer { server.shutdown() }
        for (token, accepted) in [(nil, false), ("t0ke", false), ("t0ken!", false), ("t0ken", true)] as [(String?, Bool)] {
            let client = try FramedClient(host: "127.0.0.1", port: server.port, options: SessionOptions(token: token), receiveTimeoutSeconds: 5)
            let first = try #require(try client.receive())
            if accepted {
                #expect(first.kind == .handshake)
            } else {
                #expect(first.kind == .error && first.text.hasPrefix("unauthorized"), "\(String(describing: token))")
                #expect(try client.receive() == nil)
            }
        }
        #expect(server.statistics.snapshot.sessionsOpened == 1)
        #expect(server.statistics.snapshot.protocolErrors == 0)
    }

    /// Plain Ogg carries the token as a `MOSHI_TOKEN=` comment in its OpusTags (ffmpeg:
    /// `-metadata moshi_token=...`).
    @Test(arguments: [(nil, false), ("MOSHI_TOKEN=nope", false), ("moshi_token=ogg-token", true)] as [(String?, Bool)])
    func plainOggNeedsTheTokenInItsTags(comment: String?, accepted: Bool) throws {
        let server = try makeTestServer { $0.access = AccessPolicy(authToken: "ogg-token") }
        defer { server.shutdown() }
        let encoder = try OpusEncoder(sampleRate: 24000, channelCount: 1, application: .voip)
        let writer = try OggOpusWriter(head: OpusHead(preSkip: 3840, inputSampleRate: 24000),
                                       tags: OpusTags(vendor: "test", comments: ["TITLE=x"] + (comment.map { [$0] } ?? [])))
        var bytes: [UInt8] = []
        for _ in 0..<3 {
            let packet = try encoder.encode(TestAudio.tone(seconds: 0.08))
            try packet.withUnsafeBufferPointer { try writer.write(packet: $0, to: &bytes) }
        }
        let socket = RawSocket(fd: try FramedClient.connect(host: "127.0.0.1", port: server.port))
        defer { close(socket.fd) }
        socket.send(bytes)
        socket.shutdownWrite()
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(socket.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let reply = socket.readAll()
        if accepted {
            #expect(reply.starts(with: Array("OggS".utf8)))
            #expect(server.statistics.snapshot.frames == 3)
        } else {
            #expect(reply.isEmpty)
            #expect(server.statistics.snapshot.sessionsOpened == 0)
            #expect(server.statistics.snapshot.sessionsRejected == 1)
        }
    }

    @Test func scanningTagsWaitsForTheWholePacket() {
        let packet = OpusTags(vendor: "v", comments: ["A=b", "Moshi_Token=abc"]).packet
        #expect(OggSessionDecoder.scanToken(Array(packet.prefix(packet.count - 1))) == .needMore)
        #expect(OggSessionDecoder.scanToken([1, 2, 3] + packet) == .tags(token: "abc"))
        #expect(OggSessionDecoder.scanToken(OpusTags(vendor: "v", comments: ["A=b"]).packet) == .tags(token: nil))
    }

    // MARK: Binding beyond loopback

    @Test func aNonLoopbackBindWithoutATokenRefusesToStart() throws {
        var config = ServerConfiguration()
        config.port = 0
        config.host = "0.0.0.0"
        #expect(throws: ServerExposureError.self) { try MoshiServer(configuration: config, factory: EchoFactory()) }
        config.host = "::"
        #expect(config.exposureError != nil)
        config.host = "192.168.1.20"
        #expect(config.exposureError?.description.contains("server.auth_token") == true)
        for loopback in ["127.0.0.1", "127.0.0.53", "::1", "[::1]", "localhost"] {
            config.host = loopback
            #expect(config.exposureError == nil, "\(loopback)")
        }
        config.host = "0.0.0.0"
        config.allowsUnauthenticatedNetwork = true
        #expect(config.exposureError == nil)
        config.allowsUnauthenticatedNetwork = false
        config.access = AccessPolicy(authToken: "x")
        let server = try MoshiServer(configuration: config, factory: EchoFactory())
        server.shutdown()
    }

    @Test func tokenComparison() {
        let policy = AccessPolicy(authToken: "abc")
        #expect(policy.accepts(token: "abc"))
        #expect(!policy.accepts(token: "abd") && !policy.accepts(token: "ab") && !policy.accepts(token: "abcd") && !policy.accepts(token: nil))
        #expect(AccessPolicy().accepts(token: nil) && AccessPolicy(authToken: "").accepts(token: "anything"))
    }
}
