@testable import MoshiClient
import AudioIO
import Dispatch
import Engine
import Foundation
import Synchronization
import Testing
@testable import Server

/// Issue 13: the daemon under a first deployment's conditions (systemd watchdog, Kyutai's
/// clients, clients that send too fast, clients that close).
@Suite(.serialized) struct DeploymentTests {
    // MARK: Watchdog

    /// A client that opens a session and sends nothing makes no frames; the watchdog must keep
    /// pinging (with the shipped logic it went silent after one interval and systemd killed us).
    @Test func watchdogKeepsPingingWhileAClientIsSilent() throws {
        let server = try makeTestServer()
        defer { server.shutdown() }
        let client = try FramedClient(host: "127.0.0.1", port: server.port)
        #expect(try client.receive()?.kind == .handshake)
        #expect(server.activeSessions == 1)
        let stub = try NotifySocketStub(abstract: true)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": stub.address])
        let watchdog = try #require(SystemdWatchdog(server: server, notifier: notifier, environment: ["WATCHDOG_USEC": "2000000"]))
        #expect(watchdog.interval == .seconds(1))
        watchdog.start()
        defer { watchdog.stop() }
        // The first ping is immediate, then one a second: three in a row with the client silent.
        for _ in 0..<3 { #expect(stub.receive() == "WATCHDOG=1") }
        #expect(watchdog.skippedCount == 0)
        #expect(server.activeSessions == 1 && server.statistics.snapshot.frames == 0)
    }

    /// A compute queue stuck in a call stops the pings; they resume once it returns.
    @Test func watchdogStopsWhileTheComputePathIsStuck() throws {
        let gate = DispatchSemaphore(value: 0)
        let server = try MoshiServer(configuration: testConfiguration(), factory: BlockingFactory(gate: gate))
        defer { server.shutdown() }
        let stub = try NotifySocketStub(abstract: true)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": stub.address])
        let watchdog = SystemdWatchdog(notifier: notifier, interval: .milliseconds(50)) { server.answersLivenessProbe() }
        watchdog.start()
        defer { watchdog.stop() }
        #expect(stub.receive() == "WATCHDOG=1")
        let client = try FramedClient(host: "127.0.0.1", port: server.port, receiveTimeoutSeconds: 5)
        _ = client
        #expect(eventually { watchdog.skippedCount >= 3 })  // makeConversation blocks the compute queue
        gate.signal()
        let pings = watchdog.pingCount
        #expect(eventually { watchdog.pingCount > pings })
    }

    // MARK: Reply lag

    /// Kyutai's clients write a pre-skip of 3840 (one whole frame). The reply to the first 80 ms
    /// page must come without waiting for the next page (it used to wait: a frame of latency).
    @Test func webSocketRepliesToAPageWithoutWaitingForTheNext() throws {
        let server = try makeTestServer()
        defer { server.shutdown() }
        var client = try WebSocketTestClient(port: server.port, path: "/api/chat")
        #expect(client.nextFrame()?.1.first == MessageKind.handshake.rawValue)
        client.sendFrame(opcode: 0x2, [MessageKind.audio.rawValue] + (try KyutaiStyleOgg().page(of: TestAudio.tone(seconds: 0.08))))
        // The Metadata message (reply_delay_frames) comes just before the first audio.
        #expect(client.nextFrame(timeoutSeconds: 3)?.1.first == MessageKind.metadata.rawValue)
        let reply = client.nextFrame(timeoutSeconds: 3)
        #expect(reply?.1.first == MessageKind.audio.rawValue)
        #expect(server.statistics.snapshot.frames == 1)
        #expect(eventually { server.statistics.metrics.replyLag.count == 1 })
    }

    /// The same on a plain Ogg connection.
    @Test func plainOggRepliesToAPageWithoutWaitingForTheNext() throws {
        let server = try makeTestServer()
        defer { server.shutdown() }
        let socket = RawSocket(fd: try FramedClient.connect(host: "127.0.0.1", port: server.port))
        defer { close(socket.fd) }
        socket.send(try KyutaiStyleOgg().page(of: TestAudio.tone(seconds: 0.08)))
        #expect(eventually(3) { server.statistics.snapshot.frames == 1 })
        var tv = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(socket.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
        #expect(n > 0 && buffer.starts(with: Array("OggS".utf8)))
    }

    // MARK: Input bounded in audio time

    /// One message claiming 30 s of audio: refused with a clear error as soon as it runs 2 s
    /// ahead of real time, never queued; another client is served meanwhile.
    @Test func inputFasterThanRealTimeIsRefusedAndOthersAreServed() throws {
        let server = try makeTestServer { $0.maximumInputAheadSeconds = 2 }
        defer { server.shutdown() }
        var flood = try WebSocketTestClient(port: server.port, path: "/api/chat")
        #expect(flood.nextFrame()?.1.first == MessageKind.handshake.rawValue)
        let ogg = try AudioFile.encodeOggOpus([Float](repeating: 0, count: 30 * 24000), frameDuration: .ms60)
        #expect(ogg.count < FramedProtocol.defaultMaximumPayload)
        flood.sendFrame(opcode: 0x2, [MessageKind.audio.rawValue] + ogg)
        var error: String?
        while let frame = flood.nextFrame(timeoutSeconds: 5) {
            if frame.0 == 0x2, frame.1.first == MessageKind.error.rawValue { error = String(decoding: frame.1.dropFirst(), as: UTF8.self) }
            if frame.0 == 0x8 { break }
        }
        #expect(error?.contains("ahead of real time") == true)
        // At most the allowance (2 s = 25 frames) and a packet ran; not 30 s.
        #expect(server.statistics.snapshot.frames <= 26)
        var other = try WebSocketTestClient(port: server.port, path: "/api/chat")
        #expect(other.nextFrame(timeoutSeconds: 5)?.1.first == MessageKind.handshake.rawValue)
    }

    @Test func theBudgetAllowsRealTimeAndTheAllowanceOnly() {
        var budget = InputBudget(aheadSamples: 48_000)
        let allowance = budget.admit(samples: 48_000, now: 1_000)
        let beyond = budget.admit(samples: 1, now: 1_000)
        let later = budget.admit(samples: 1920, now: 1_000 + 80_000_000)  // 80 ms on: one frame more is fine
        #expect(allowance && !beyond && later)
        // A client at the pace of speech, one frame ahead at most, is never refused.
        var paced = InputBudget(aheadSamples: 1920)
        var refused = 0
        for i in 0..<1000 where !paced.admit(samples: 1920, now: 1_000 + UInt64(i) * 80_000_000) { refused += 1 }
        #expect(refused == 0)
    }

    // MARK: WebSocket Close

    /// After the client's Close the server answers with a Close and sends no more data frames
    /// (it used to run the rest of the input and keep sending audio).
    @Test func webSocketCloseIsHonoured() throws {
        let server = try MoshiServer(configuration: testConfiguration(), factory: SlowEchoFactory())
        defer { server.shutdown() }
        var client = try WebSocketTestClient(port: server.port, path: "/api/chat")
        #expect(client.nextFrame()?.1.first == MessageKind.handshake.rawValue)
        let ogg = try AudioFile.encodeOggOpus(TestAudio.tone(seconds: 2))
        client.sendFrame(opcode: 0x2, [MessageKind.audio.rawValue] + ogg)
        // Wait for the first reply, so the conversation is mid-way through 25 frames of 20 ms each.
        while let frame = client.nextFrame(timeoutSeconds: 5), frame.1.first != MessageKind.audio.rawValue {}
        client.sendFrame(opcode: 0x8, [0x03, 0xE8])
        var afterClose = 0
        var closeCode: [UInt8]?
        while let frame = client.nextFrame(timeoutSeconds: 5) {
            if frame.0 == 0x8 { closeCode = frame.1; break }
            afterClose += 1
        }
        #expect(closeCode == [0x03, 0xE8])
        #expect(afterClose < 10)  // only what was already on its way; the old server sent all 24 more
        #expect(client.nextFrame(timeoutSeconds: 1).map(\.0) == nil)
    }

    // MARK: Warm-up

    @Test func warmUpRunsSilentFramesThroughAConversation() throws {
        let factory = CountingFactory()
        #expect(try factory.warmUp(frames: 4) == 4)
        #expect(factory.count.frames.load(ordering: .relaxed) == 4)
        #expect(try factory.warmUp(frames: 0) == 0)
    }
}

/// A configuration like `makeTestServer`'s.
func testConfiguration() -> ServerConfiguration {
    var config = ServerConfiguration()
    config.port = 0
    config.maximumSessions = 4
    config.idleTimeoutSeconds = 10
    config.maximumInputAheadSeconds = 60
    return config
}

/// Conversations whose making blocks until `gate` is signalled (a stuck compute path).
struct BlockingFactory: ConversationFactory {
    let gate: DispatchSemaphore
    var modelDescription: String { "blocking (test)" }
    func makeConversation(options: SessionOptions) throws -> ServerConversation {
        gate.wait()
        return try EchoFactory().makeConversation(options: options)
    }
}

/// The echo model at 20 ms a frame.
struct SlowEchoFactory: ConversationFactory {
    var modelDescription: String { "slow echo (test)" }
    func makeConversation(options: SessionOptions) throws -> ServerConversation {
        ServerConversation(processor: SlowEchoProcessor(), textDecoder: nil)
    }
}

final class SlowEchoProcessor: FrameProcessor {
    let stageNames = ["echo"]
    private let echo = EchoProcessor()
    func process(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, stageNanoseconds: UnsafeMutablePointer<UInt64>) -> FrameResult {
        usleep(20_000)
        return echo.process(input, output: output, stageNanoseconds: stageNanoseconds)
    }
    func reset() { echo.reset() }
}

final class FrameCount: Sendable {
    let frames = Atomic<Int>(0)
}

/// Counts the frames its conversations run.
final class CountingFactory: ConversationFactory {
    let count = FrameCount()
    var modelDescription: String { "counting (test)" }
    func makeConversation(options: SessionOptions) throws -> ServerConversation {
        ServerConversation(processor: CountingProcessor(count: count), textDecoder: nil)
    }
}

final class CountingProcessor: FrameProcessor {
    let stageNames = ["count"]
    private let count: FrameCount
    init(count: FrameCount) { self.count = count }
    func process(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, stageNanoseconds: UnsafeMutablePointer<UInt64>) -> FrameResult {
        count.frames.add(1, ordering: .relaxed)
        return FrameResult(producedAudio: true, textToken: nil)
    }
    func reset() {}
}

/// An Ogg Opus stream as Kyutai's clients write it: pre-skip 3840, one 80 ms packet per page.
final class KyutaiStyleOgg: @unchecked Sendable {  // used from one thread at a time
    let encoder: OpusEncoder
    let writer: OggOpusWriter

    init() throws {
        encoder = try OpusEncoder(sampleRate: 24000, channelCount: 1, application: .voip)
        writer = try OggOpusWriter(head: OpusHead(preSkip: 3840, inputSampleRate: 24000))
    }

    /// The next page (the headers before the first) holding `samples` (1920) as one packet.
    func page(of samples: [Float]) throws -> [UInt8] {
        let packet = try encoder.encode(samples)
        var bytes: [UInt8] = []
        try packet.withUnsafeBufferPointer { try writer.write(packet: $0, to: &bytes) }
        return bytes
    }
}
