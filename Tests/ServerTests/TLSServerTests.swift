@testable import MoshiClient
import AudioIO
import Foundation
import Testing
@testable import Server

/// TLS on the same port as the plain protocols: a self-signed certificate made at start, and
/// each protocol inside it, driven through real TLS peers (socat's OpenSSL client, curl,
/// openssl s_client).
@Suite(.serialized, .timeLimit(.minutes(2))) struct TLSServerTests {
    static let identity: TLSIdentity = try! TLSIdentity.selfSigned(names: ["localhost", "127.0.0.1"])

    static func tlsServer() throws -> MoshiServer {
        try makeTestServer { $0.tls = TLSServerTests.identity }
    }

    static func output(_ command: String) throws -> (status: Int32, text: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func selfSignedCertificateNamesTheHostsAndHasAFingerprint() throws {
        let identity = Self.identity
        #expect(identity.certificateChain.count == 1)
        #expect(identity.fingerprintSHA256.count == 32 * 3 - 1 && identity.fingerprintSHA256.allSatisfy { $0.isHexDigit || $0 == ":" })
        #expect(identity.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        guard OggServerTests.tool("openssl") != nil else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-tls-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pem = dir.appendingPathComponent("cert.pem").path
        try identity.certificatePEM.write(toFile: pem, atomically: true, encoding: .utf8)
        let text = try Self.output("openssl x509 -in \(pem) -noout -fingerprint -sha256 -ext subjectAltName").text
        #expect(text.contains(identity.fingerprintSHA256), "\(text)")
        #expect(text.contains("DNS:localhost") && text.contains("IP Address:127.0.0.1"), "\(text)")
    }

    @Test(.enabled(if: OggServerTests.tool("openssl") != nil, "needs openssl"))
    func theServerPresentsItsCertificate() throws {
        let server = try Self.tlsServer()
        defer { server.shutdown() }
        let text = try Self.output("openssl s_client -connect 127.0.0.1:\(server.port) </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256").text
        #expect(text.contains(Self.identity.fingerprintSHA256), "\(text)")
    }

    @Test(.enabled(if: OggServerTests.tool("socat") != nil, "needs socat"))
    func theFramedProtocolRunsInsideTLS() throws {
        let server = try Self.tlsServer()
        defer { server.shutdown() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-tls-framed-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // What `moshi client` would send: preamble, handshake, 0.8 s of 20 ms Opus packets.
        var request = FramedProtocol.preamble + FramedProtocol.encode(.handshake, payload: Array("{}".utf8))
        for packet in try TestAudio.packets(TestAudio.tone(seconds: 0.8)) { request += FramedProtocol.encode(.audio, payload: packet) }
        let input = dir.appendingPathComponent("request.bin").path
        let output = dir.appendingPathComponent("reply.bin").path
        try Data(request).write(to: URL(fileURLWithPath: input))
        #expect(try OggServerTests.shell("socat -t 10 - OPENSSL:127.0.0.1:\(server.port),verify=0 < \(input) > \(output)") == 0)
        var decoder = FramedDecoder(maximumPayload: FramedProtocol.defaultMaximumPayload)
        decoder.push(try [UInt8](Data(contentsOf: URL(fileURLWithPath: output))))
        var kinds: [MessageKind] = []
        while let message = try decoder.next() { kinds.append(message.kind) }
        #expect(kinds.first == .handshake && kinds.last == .control, "\(kinds)")
        #expect(kinds.filter { $0 == .audio }.count == 10, "\(kinds)")
    }

    @Test(.enabled(if: OggServerTests.tool("ffmpeg") != nil && OggServerTests.tool("socat") != nil, "needs ffmpeg and socat"))
    func plainOggRunsInsideTLS() throws {
        let server = try Self.tlsServer()
        defer { server.shutdown() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-tls-ogg-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let talk = dir.appendingPathComponent("talk.wav").path
        let reply = dir.appendingPathComponent("reply.ogg").path
        try AudioFile.write(talk, samples: TestAudio.tone(seconds: 2), sampleRate: 24000)
        let status = try OggServerTests.shell("ffmpeg -nostdin -loglevel error -i \(talk) -c:a libopus -f ogg - | socat -t 10 - OPENSSL:127.0.0.1:\(server.port),verify=0 > \(reply)")
        #expect(status == 0)
        let samples = try AudioFile.decodeOggOpus(try [UInt8](Data(contentsOf: URL(fileURLWithPath: reply))))
        #expect(samples.count >= 24 * 1920 && samples.count <= 27 * 1920, "\(samples.count) samples")
    }

    @Test(.enabled(if: OggServerTests.tool("curl") != nil, "needs curl"))
    func theBrowserPageIsServedOverHTTPS() throws {
        let server = try Self.tlsServer()
        defer { server.shutdown() }
        let (status, page) = try Self.output("curl -sk --max-time 10 https://127.0.0.1:\(server.port)/")
        #expect(status == 0 && page.contains("<title>SwiftMoshi</title>"), "curl exit \(status)")
    }

    /// A `wss://` client in Python's standard library (OpenSSL underneath): sends the upgrade,
    /// waits for the 101 as RFC 6455 asks, then sends the frames in `input`, reads the replies
    /// for 4 s, sends a Close, and writes every byte received (the 101 included) to `output`
    /// until the server closes.
    static let wssClient = """
    import socket, ssl, sys, time
    port, request, frames, output = int(sys.argv[1]), open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read(), sys.argv[4]
    context = ssl.create_default_context(); context.check_hostname = False; context.verify_mode = ssl.CERT_NONE
    s = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=15))
    s.sendall(request)
    got = b""
    while b"\\r\\n\\r\\n" not in got:
        chunk = s.recv(65536)
        if not chunk: break
        got += chunk
    s.sendall(frames)
    s.settimeout(0.25)
    start = time.time()
    while time.time() - start < 4:
        try: chunk = s.recv(65536)
        except (socket.timeout, TimeoutError): continue
        if not chunk: break
        got += chunk
    s.sendall(bytes([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]))
    s.settimeout(10)
    while True:
        try: chunk = s.recv(65536)
        except (ssl.SSLError, ConnectionError, TimeoutError): break
        if not chunk: break
        got += chunk
    open(output, "wb").write(got)
    """

    /// Kyutai's protocol over `wss://`: the upgrade, 2 s of Ogg Opus, then a close; the reply
    /// holds the handshake, the audio and the close.
    @Test(.enabled(if: OggServerTests.tool("python3") != nil, "needs python3"))
    func kyutaisWebSocketProtocolRunsInsideTLS() throws {
        let server = try Self.tlsServer()
        defer { server.shutdown() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-wss-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var frames: [UInt8] = []
        let ogg = try AudioFile.encodeOggOpus(TestAudio.tone(seconds: 2))
        for offset in stride(from: 0, to: ogg.count, by: 1000) {
            frames += WebSocketTestClient.frame(opcode: 0x2, [MessageKind.audio.rawValue] + Array(ogg[offset..<min(offset + 1000, ogg.count)]))
        }
        let path = { (name: String) in dir.appendingPathComponent(name).path }
        try Self.wssClient.write(toFile: path("client.py"), atomically: true, encoding: .utf8)
        try Data(WebSocketTestClient.upgradeRequest(path: "/api/chat")).write(to: URL(fileURLWithPath: path("request.bin")))
        try Data(frames).write(to: URL(fileURLWithPath: path("frames.bin")))
        let run = try Self.output("python3 \(path("client.py")) \(server.port) \(path("request.bin")) \(path("frames.bin")) \(path("reply.bin"))")
        #expect(run.status == 0)
        let (status, replies) = WebSocketTestClient.parse(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path("reply.bin")))))
        #expect(status.contains("101"))
        let binary = replies.filter { $0.0 == 0x2 }.map(\.1)
        #expect(binary.first?.first == 0, "handshake first")
        let audio = binary.filter { $0.first == 1 }.flatMap { $0.dropFirst() }
        #expect(try AudioFile.decodeOggOpus(Array(audio)).count > 20 * 1920)
        #expect(replies.last?.0 == 0x8, "closed with a close frame")
    }

    @Test func unreadableOrMismatchedFilesAreClearErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-tls-files-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cert = dir.appendingPathComponent("cert.pem").path
        try Self.identity.certificatePEM.write(toFile: cert, atomically: true, encoding: .utf8)
        #expect { try TLSIdentity.load(certificatePath: "/nonexistent/cert.pem", keyPath: "/nonexistent/key.pem") } throws: {
            ($0 as? TLSIdentityError)?.description.contains("cannot read the TLS certificate /nonexistent/cert.pem") == true
        }
        #expect { try TLSIdentity.load(certificatePath: cert, keyPath: cert) } throws: {
            ($0 as? TLSIdentityError)?.description.contains("cannot read the TLS private key") == true
        }
    }

    /// `moshi serve --tls-self-signed` as a real process: it prints the fingerprint, and the
    /// certificate it presents has that fingerprint; the page comes over https.
    @Test(.enabled(if: ServeSignalTests.moshiExecutable != nil && OggServerTests.tool("openssl") != nil && OggServerTests.tool("curl") != nil,
                   "needs the moshi executable, openssl and curl"))
    func serveWithASelfSignedCertificatePrintsItsFingerprint() throws {
        let (process, output, log, _) = try InheritedSignalMaskTests.start(["serve", "--synthetic", "--port", "0", "--tls-self-signed"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let printed = try #require(output.waitForLine(containing: "SHA-256 fingerprint", seconds: 30), "\(log.all)")
        let fingerprint = try #require(printed.split(separator: " ").last.map(String.init))
        let line = try #require(output.waitForLine(containing: "listening on", seconds: 90), "\(log.all)")
        #expect(line.contains("TLS too: https://"))
        let address = try #require(line.split(separator: " ").first { $0.hasPrefix("127.0.0.1:") })
        let port = try #require(Int(address.split(separator: ":")[1]))
        let presented = try Self.output("openssl s_client -connect 127.0.0.1:\(port) </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256").text
        #expect(presented.contains(fingerprint), "printed \(fingerprint), presented \(presented)")
        #expect(try Self.output("curl -sk --max-time 10 https://127.0.0.1:\(port)/").text.contains("<title>SwiftMoshi</title>"))
        kill(process.processIdentifier, SIGTERM)
    }

    @Test func aClientHelloOnAPlainServerIsClosed() throws {
        let server = try makeTestServer()
        defer { server.shutdown() }
        let socket = RawSocket(fd: try FramedClient.connect(host: "127.0.0.1", port: server.port))
        socket.send([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5])
        #expect(socket.readAll().isEmpty, "closed without a reply")
        #expect(eventually { server.statistics.snapshot.protocolErrors == 1 })
    }
}
