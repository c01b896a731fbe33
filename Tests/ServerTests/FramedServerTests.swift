@testable import MoshiClient
import AudioIO
import Engine
import Foundation
import Testing
@testable import Server

@Suite(.serialized) struct FramedServerTests {
    @Test func conversationReturnsDecodableAudioAndText() throws {
        let server = try makeTestServer()
        defer { server.shutdown() }
        let client = try FramedClient(host: "127.0.0.1", port: server.port, options: SessionOptions(seed: 3))
        let handshake = try #require(try client.receive())
        #expect(handshake.kind == .handshake)
        #expect(handshake.text.contains("\"frame_ms\":80"))
        let input = TestAudio.tone(seconds: 2)
        for packet in try TestAudio.packets(input) { try client.send(.audio, payload: packet) }
        try client.send(.ping, payload: [7])
        client.finishSending()
        let messages = try receiveAll(client)

        let audio = messages.filter { $0.kind == .audio }
        #expect(audio.count == 25)  // 2 s = 25 frames of 80 ms, one packet each
        let decoder = try OpusDecoder()
        var reply: [Float] = []
        var pcm = [Float](repeating: 0, count: 2880)
        for m in audio {
            let n = try m.payload.withUnsafeBufferPointer { p in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(p, into: $0) } }
            #expect(n == 1920)
            reply += pcm[0..<n]
        }
        // The echo is the tone at half level (0.3 * 0.5 / sqrt 2 ≈ 0.106 RMS), through two Opus passes.
        let level = TestAudio.rms(reply[4800...])
        #expect(level > 0.07 && level < 0.14)
        let text = messages.filter { $0.kind == .text }.map(\.text).joined()
        #expect(text == "w0 w4 w8 w12 w16 w20 w24 ")
        #expect(messages.contains { $0.kind == .ping && $0.payload == [7] })
        #expect(messages.last?.kind == .control && messages.last?.payload == [1])
        #expect(eventually { server.activeSessions == 0 })
        let stats = server.statistics.snapshot
        #expect(stats.frames == 25 && stats.sessionsOpened == 1)
    }

    @Test(arguments: [
        ("garbage", [UInt8]([0x17, 0x03, 0x01, 0x00, 0x10]), "not the framed protocol"),
        ("version", FramedProtocol.magic + [9], "unsupported protocol version 9"),
        ("oversized", FramedProtocol.preamble + [1, 0x7F, 0xFF, 0xFF, 0xFF], "exceeds the limit"),
        ("kind", FramedProtocol.preamble + FramedProtocol.encode(.handshake, payload: []) + [0x42, 0, 0, 0, 0], "unknown message kind 66"),
        ("not opus", FramedProtocol.preamble + FramedProtocol.encode(.handshake, payload: []) + FramedProtocol.encode(.audio, payload: [0xFF]), "not an Opus packet"),
        ("bad json", FramedProtocol.preamble + FramedProtocol.encode(.handshake, text: "{seed"), "not valid JSON"),
        ("truncated", FramedProtocol.preamble + FramedProtocol.encode(.handshake, payload: []) + [1, 0, 0, 0, 100, 1, 2, 3], "ended inside a message"),
    ])
    func malformedInputGetsAnErrorAndAClose(name: String, bytes: [UInt8], reason: String) throws {
        let server = try makeTestServer()
        defer { server.shutdown() }
        // A healthy session runs alongside and must not notice.
        let healthy = try FramedClient(host: "127.0.0.1", port: server.port)
        #expect(try healthy.receive()?.kind == .handshake)

        let fd = try FramedClient.connect(host: "127.0.0.1", port: server.port)
        let bad = RawSocket(fd: fd)
        bad.send(bytes)
        bad.shutdownWrite()
        let received = bad.readAll()
        var decoder = FramedDecoder()
        decoder.push(received)
        var messages: [FramedMessage] = []
        while let m = try decoder.next() { messages.append(m) }
        let error = messages.last { $0.kind == .error }
        #expect(error?.text.contains(reason) == true, "\(name): \(messages.map(\.text))")

        for packet in try TestAudio.packets(TestAudio.tone(seconds: 0.4)) { try healthy.send(.audio, payload: packet) }
        healthy.finishSending()
        let audio = try receiveAll(healthy).filter { $0.kind == .audio }
        #expect(audio.count == 5)
        #expect(eventually { server.activeSessions == 0 })
    }

    @Test func clientsBeyondMaxSessionsAreToldTheServerIsBusy() throws {
        let server = try makeTestServer { $0.maximumSessions = 1 }
        defer { server.shutdown() }
        let first = try FramedClient(host: "127.0.0.1", port: server.port)
        #expect(try first.receive()?.kind == .handshake)
        let second = try FramedClient(host: "127.0.0.1", port: server.port)
        let messages = try receiveAll(second)
        #expect(messages.count == 1 && messages[0].kind == .error && messages[0].text.hasPrefix("server busy"))
        #expect(server.statistics.snapshot.sessionsRejected == 1)
        first.finishSending()
        _ = try receiveAll(first)
        // The slot is free again.
        #expect(eventually { server.activeSessions == 0 })
        let third = try FramedClient(host: "127.0.0.1", port: server.port)
        #expect(try third.receive()?.kind == .handshake)
    }

    @Test func aSlowReaderHasItsAudioDroppedNotBuffered() throws {
        let server = try makeTestServer {
            $0.sendQueueHighWaterBytes = 4096
            $0.socketSendBufferBytes = 4096
            $0.slowReaderTimeoutSeconds = 60
        }
        defer { server.shutdown() }
        let client = try FramedClient(host: "127.0.0.1", port: server.port)
        client.setReceiveBuffer(bytes: 2048)
        // 40 s of audio sent as fast as the server takes it, and nothing read.
        let packets = try TestAudio.packets(TestAudio.tone(seconds: 2))
        for _ in 0..<20 { for p in packets { try client.send(.audio, payload: p) } }
        // ~3 s alone in a debug build; the whole suite on two cores has taken more than 10 s.
        #expect(eventually(60) { server.statistics.snapshot.frames == 500 })
        let stats = server.statistics.snapshot
        #expect(stats.droppedAudioMessages > 100)
        // What was queued stayed bounded: bytes out well below 500 packets' worth.
        #expect(stats.bytesOut < 500 * 200)
        client.finishSending()
        let messages = try receiveAll(client)
        #expect(messages.last?.kind == .control)
        #expect(eventually { server.activeSessions == 0 })
    }

    /// Other suites in this process open and close descriptors at the same time (subprocesses,
    /// sockets), so the cycles run in four windows of 50 and the smallest growth counts: a
    /// leaked descriptor per cycle shows as 50 in every window.
    @Test func connectAndAbortCyclesLeaveNoDescriptorsBehind() throws {
        let server = try makeTestServer()
        defer { server.shutdown() }
        // Warm up once so lazily opened descriptors are in the baseline.
        do { let c = try FramedClient(host: "127.0.0.1", port: server.port); _ = try c.receive() }
        #expect(eventually { server.activeSessions == 0 })
        let packet = try TestAudio.packets(TestAudio.tone(seconds: 0.02))[0]
        var smallest = Int.max
        for window in 0..<4 {
            let baseline = openFileDescriptors()
            for i in 0..<50 {
                let c = try FramedClient(host: "127.0.0.1", port: server.port)
                if (window * 50 + i) % 2 == 0 { try? c.sendRaw(FramedProtocol.encode(.audio, payload: packet).prefix(7).map { $0 }) }  // mid-message
            }
            _ = eventually(10) { server.activeSessions == 0 && openFileDescriptors() <= baseline }
            smallest = min(smallest, openFileDescriptors() - baseline)
        }
        #expect(server.activeSessions == 0)
        #expect(smallest <= 0, "at least \(smallest) descriptors more after every 50 cycles")
    }
}

/// A bare socket for sending malformed bytes.
struct RawSocket {
    let fd: Int32
    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }
    /// Everything until the server closes (closes the socket).
    func readAll() -> [UInt8] {
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            result += buffer[0..<n]
        }
        close(fd)
        return result
    }
}
