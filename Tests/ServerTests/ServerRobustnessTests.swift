@testable import MoshiClient
import AudioIO
import Foundation
import Testing
@testable import Server

/// Bad clients and bad networks against the echo server: connect-and-abort churn (what each
/// connection leaves behind), an idle client, and input that stalls mid-conversation. The same
/// churn's resident memory is measured in a `moshi serve` process of its own
/// (`ServeMemoryTests`), where no other test allocates.
@Suite(.serialized, .timeLimit(.minutes(2))) struct ServerRobustnessTests {
    /// 200 clients that connect, get their session, and vanish (half of them in the middle of
    /// a message) leave nothing of theirs behind: every conversation the server made is freed
    /// once its connection is gone. Counted with weak references, so the check does not depend
    /// on the allocator or on what other suites running in this process allocate; each client
    /// waits for its handshake, so every one of the 200 made a conversation.
    @Test func connectAndAbortCyclesFreeEveryConversation() throws {
        let factory = TrackingEchoFactory()
        var config = ServerConfiguration()
        config.port = 0
        config.maximumSessions = 1000    // no client is turned away while earlier ones close
        config.idleTimeoutSeconds = 60   // sessions must end because their clients left
        let server = try MoshiServer(configuration: config, factory: factory)
        defer { server.shutdown() }
        let packet = try TestAudio.packets(TestAudio.tone(seconds: 0.02))[0]
        for i in 0..<200 {
            let c = try FramedClient(host: "127.0.0.1", port: server.port, receiveTimeoutSeconds: 30)
            try #require(try c.receive()?.kind == .handshake, "client \(i) got no handshake")
            if i % 2 == 0 { try? c.sendRaw(Array(FramedProtocol.encode(.audio, payload: packet).prefix(7))) }  // mid-message
        }
        #expect(factory.made == 200)
        #expect(eventually(30) { server.activeSessions == 0 }, "\(server.activeSessions) sessions still open")
        #expect(eventually(10) { factory.alive == 0 }, "\(factory.alive) of \(factory.made) conversations outlived their connection")
    }

    @Test func anIdleClientIsClosedAfterTheTimeout() throws {
        let server = try makeTestServer { $0.idleTimeoutSeconds = 1 }
        defer { server.shutdown() }
        let client = try FramedClient(host: "127.0.0.1", port: server.port, receiveTimeoutSeconds: 10)
        #expect(try client.receive()?.kind == .handshake)
        let start = Date()
        // Nothing more is sent: the server says why and closes.
        let messages = try receiveAll(client)
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed >= 0.8 && elapsed < 5, "closed after \(elapsed) s")
        let error = messages.last { $0.kind == .error }
        #expect(error?.text.contains("idle timeout") == true, "\(messages.map(\.text))")
        #expect(eventually { server.activeSessions == 0 })
    }

    @Test func anActiveClientOutlivesTheIdleTimeout() throws {
        let server = try makeTestServer { $0.idleTimeoutSeconds = 0.5 }
        defer { server.shutdown() }
        let client = try FramedClient(host: "127.0.0.1", port: server.port, receiveTimeoutSeconds: 10)
        #expect(try client.receive()?.kind == .handshake)
        // 1.6 s of audio at the pace of speech: longer than the timeout, never silent for it.
        let packets = try TestAudio.packets(TestAudio.tone(seconds: 1.6))
        for p in packets {
            try client.send(.audio, payload: p)
            usleep(20_000)
        }
        client.finishSending()
        let messages = try receiveAll(client)
        #expect(messages.filter { $0.kind == .audio }.count == 20)
        #expect(messages.last?.kind == .control && messages.last?.payload == [1])
    }

    /// 1 s of audio, a 600 ms stall (more than the 240 ms jitter allowance), 1 s more: the server
    /// keeps the conversation's pace by concealing the missing frames, and the reply decodes.
    @Test func stalledInputIsConcealed() throws {
        let server = try makeTestServer()
        defer { server.shutdown() }
        let client = try FramedClient(host: "127.0.0.1", port: server.port, receiveTimeoutSeconds: 10)
        #expect(try client.receive()?.kind == .handshake)
        let packets = try TestAudio.packets(TestAudio.tone(seconds: 2))
        let collected = MessageBox()
        let receiver = Thread {
            while let m = try? client.receive() { collected.append(m) }
            collected.finish()
        }
        receiver.start()
        for (i, p) in packets.enumerated() {
            if i == 50 { usleep(600_000) }
            try client.send(.audio, payload: p)
            usleep(20_000)
        }
        client.finishSending()
        #expect(collected.waitUntilFinished(seconds: 10))
        let concealed = server.statistics.snapshot.concealedFrames
        #expect(concealed >= 1 && concealed <= 10, "concealed \(concealed) frames")

        let audio = collected.messages.filter { $0.kind == .audio }
        #expect(audio.count == 25 + concealed, "\(audio.count) reply packets, \(concealed) concealed")
        let decoder = try OpusDecoder()
        var pcm = [Float](repeating: 0, count: 2880)
        var reply: [Float] = []
        for m in audio {
            let n = try m.payload.withUnsafeBufferPointer { p in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(p, into: $0) } }
            #expect(n == 1920)
            reply += pcm[0..<n]
        }
        #expect(reply.allSatisfy { $0.isFinite })
        #expect(TestAudio.rms(reply[4800...]) > 0.05)
        #expect(collected.messages.last?.kind == .control)
    }
}

/// Messages received on another thread.
final class MessageBox: @unchecked Sendable {
    private let lock = NSCondition()
    private var received: [FramedMessage] = []
    private var done = false

    func append(_ m: FramedMessage) { lock.lock(); received.append(m); lock.unlock() }
    func finish() { lock.lock(); done = true; lock.broadcast(); lock.unlock() }
    var messages: [FramedMessage] { lock.lock(); defer { lock.unlock() }; return received }

    func waitUntilFinished(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        lock.lock()
        defer { lock.unlock() }
        while !done { if !lock.wait(until: deadline) { return done } }
        return true
    }
}
