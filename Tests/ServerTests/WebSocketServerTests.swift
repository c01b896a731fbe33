@testable import MoshiClient
import AudioIO
import Foundation
import Testing
@testable import Server

/// A minimal WebSocket client over a blocking socket, enough to speak Kyutai's protocol.
struct WebSocketTestClient {
    let socket: RawSocket
    var received: [UInt8] = []

    /// A second handle on `socket` (for a sender thread); it has not read the response.
    init(socket: RawSocket) { self.socket = socket }

    init(port: Int, path: String) throws {
        socket = RawSocket(fd: try FramedClient.connect(host: "127.0.0.1", port: port))
        socket.send(Self.upgradeRequest(path: path))
    }

    /// Sends one masked frame (mask key zero, so the payload is unchanged).
    func sendFrame(opcode: UInt8, _ payload: [UInt8]) {
        socket.send(Self.frame(opcode: opcode, payload))
    }

    /// The bytes of one client frame (masked, mask key zero).
    static func frame(opcode: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var header: [UInt8] = [0x80 | opcode]
        if payload.count < 126 { header.append(0x80 | UInt8(payload.count)) } else if payload.count < 65536 {
            header += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            header.append(0x80 | 127)
            for i in (0..<8).reversed() { header.append(UInt8((payload.count >> (8 * i)) & 0xFF)) }
        }
        return header + [0, 0, 0, 0] + payload
    }

    /// The upgrade request of `path`.
    static func upgradeRequest(path: String) -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8)
    }

    private var headerSkipped = false

    /// The next frame (opcode, payload) from the server, skipping the HTTP response first; nil
    /// when nothing complete arrives within `timeoutSeconds` or the server closed.
    mutating func nextFrame(timeoutSeconds: Double = 5) -> (UInt8, [UInt8])? {
        var tv = timeval(tv_sec: Int(timeoutSeconds), tv_usec: Int(timeoutSeconds.truncatingRemainder(dividingBy: 1) * 1e6))
        setsockopt(socket.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        while true {
            if !headerSkipped, let end = received.indices.first(where: { $0 + 3 < received.count && received[$0..<($0 + 4)].elementsEqual([13, 10, 13, 10]) }) {
                received.removeFirst(end + 4)
                headerSkipped = true
            }
            if headerSkipped, received.count >= 2 {
                var length = Int(received[1] & 0x7F)
                var start = 2
                if length == 126, received.count >= 4 { length = Int(received[2]) << 8 | Int(received[3]); start = 4 }
                else if length == 127, received.count >= 10 { length = received[2..<10].reduce(0) { $0 << 8 | Int($1) }; start = 10 }
                if length < 126 || start > 2, received.count >= start + length {
                    let frame = (received[0] & 0x0F, Array(received[start..<(start + length)]))
                    received.removeFirst(start + length)
                    return frame
                }
            }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            let n = buffer.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            received += buffer[0..<n]
        }
    }

    /// Reads until the server closes; returns the HTTP status line and the frames (opcode, payload).
    static func parse(_ bytes: [UInt8]) -> (status: String, frames: [(UInt8, [UInt8])]) {
        guard let end = bytes.indices.first(where: { $0 + 3 < bytes.count && bytes[$0..<($0 + 4)].elementsEqual([13, 10, 13, 10]) }) else {
            return (String(decoding: bytes, as: UTF8.self), [])
        }
        let status = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")[0]
        var frames: [(UInt8, [UInt8])] = []
        var i = end + 4
        while i + 2 <= bytes.count {
            let opcode = bytes[i] & 0x0F
            var length = Int(bytes[i + 1] & 0x7F)
            i += 2
            if length == 126 { guard i + 2 <= bytes.count else { break }; length = Int(bytes[i]) << 8 | Int(bytes[i + 1]); i += 2 }
            else if length == 127 { guard i + 8 <= bytes.count else { break }; length = bytes[i..<(i + 8)].reduce(0) { $0 << 8 | Int($1) }; i += 8 }
            guard i + length <= bytes.count else { break }
            frames.append((opcode, Array(bytes[i..<(i + length)])))
            i += length
        }
        return (status, frames)
    }
}

@Suite(.serialized) struct WebSocketServerTests {
    @Test func kyutaiClientHoldsAConversation() throws {
        let server = try makeTestServer()
        defer { server.shutdown() }
        var client = try WebSocketTestClient(port: server.port, path: "/api/chat?text_temperature=0.7&audio_seed=1")
        let ogg = try AudioFile.encodeOggOpus(TestAudio.tone(seconds: 2))
        // Send the stream as Kyutai's web client does, a few pages per message.
        var offset = 0
        while offset < ogg.count {
            let chunk = Array(ogg[offset..<min(offset + 1000, ogg.count)])
            client.sendFrame(opcode: 0x2, [MessageKind.audio.rawValue] + chunk)
            offset += 1000
        }
        // 2 s and the client's pre-skip (kept as audio: 156 samples) make 25 whole frames; the
        // client waits for their replies, then closes (after a Close no data frames come).
        var frames: [(UInt8, [UInt8])] = []
        while frames.filter({ $0.0 == 0x2 && $0.1.first == 1 }).count < 25, let frame = client.nextFrame() { frames.append(frame) }
        client.sendFrame(opcode: 0x8, [0x03, 0xE8])
        while let frame = client.nextFrame() { frames.append(frame) }
        let binary = frames.filter { $0.0 == 0x2 }.map(\.1)
        #expect(binary.first == [0, 0, 0, 0, 0, 0, 0, 0, 0])  // handshake first
        let audio = binary.filter { $0.first == 1 }.flatMap { $0.dropFirst() }
        let samples = try AudioFile.decodeOggOpus(Array(audio))
        #expect(samples.count == 25 * 1920 - 156)  // less the reply's pre-skip (the encoder lookahead) decoders drop
        #expect(TestAudio.rms(samples[4800...]) > 0.07)
        let text = binary.filter { $0.first == 2 }.map { String(decoding: $0.dropFirst(), as: UTF8.self) }.joined()
        #expect(text.hasPrefix("w0 w4 "))
        #expect(frames.last?.0 == 0x8)  // close frame
        #expect(eventually { server.activeSessions == 0 })
    }

    /// One plain HTTP request; the whole response as text.
    static func httpGet(port: Int, path: String) throws -> String {
        let socket = RawSocket(fd: try FramedClient.connect(host: "127.0.0.1", port: port))
        socket.send(Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
        return String(decoding: socket.readAll(), as: UTF8.self)
    }

    @Test func theBrowserPageAndItsFilesAreServedAndOtherPathsGet404() throws {
        let server = try makeTestServer()
        defer { server.shutdown() }
        let page = try Self.httpGet(port: server.port, path: "/?autostart=1")
        #expect(page.hasPrefix("HTTP/1.1 200 OK"))
        #expect(page.contains("content-type: text/html; charset=utf-8") || page.contains("Content-Type: text/html; charset=utf-8"))
        #expect(page.contains("<title>SwiftMoshi</title>") && page.contains("<script src=\"client.js\">"))
        let script = try Self.httpGet(port: server.port, path: "/client.js")
        #expect(script.hasPrefix("HTTP/1.1 200 OK") && script.contains("new AudioEncoder(") && script.contains("/api/chat"))
        let worklets = try Self.httpGet(port: server.port, path: "/worklets.js")
        #expect(worklets.contains("registerProcessor(\"moshi-capture\"") && worklets.contains("registerProcessor(\"moshi-playback\""))
        #expect(try Self.httpGet(port: server.port, path: "/nope").hasPrefix("HTTP/1.1 404"))
        // A WebSocket upgrade anywhere but /api/chat is not one: the page answers.
        let client = try WebSocketTestClient(port: server.port, path: "/elsewhere")
        let (status, _) = WebSocketTestClient.parse(client.socket.readAll())
        #expect(status.hasPrefix("HTTP/1.1 404"))
    }
}
