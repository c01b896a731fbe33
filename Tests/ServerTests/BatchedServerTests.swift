@testable import MoshiClient
import AudioIO
import Engine
import Foundation
import MoshiLM
import Mimi
import Synchronization
import Testing
@testable import Server

/// The synthetic model as `moshi serve` runs it: every connection a member of one lockstep
/// batch (`BatchingConversationFactory`), or, with `batching = false`, a session of its own.
struct BatchingSyntheticFactory: BatchingConversationFactory {
    var modelDescription: String { "synthetic, batched (test)" }
    func makeConversation(options: SessionOptions) throws -> ServerConversation {
        let (lm, mimi) = SyntheticFactory.weights
        let generator = LMGenerator(model: try LMModel(weights: lm), sampling: .referenceDefaults, seed: options.seed ?? 7)
        return ServerConversation(processor: try ConversationSession(generator: generator, mimi: mimi),
                                  textDecoder: ClosureTextDecoder { "<\($0)>" })
    }
    func makeBatchScheduler(capacity: Int) throws -> BatchScheduler {
        let (lm, mimi) = SyntheticFactory.weights
        return try BatchScheduler(lm: LMBatch(weights: lm, capacity: capacity), mimi: mimi)
    }
    func join(_ batch: BatchScheduler, options: SessionOptions) -> (conversation: BatchedConversation, textDecoder: TextTokenDecoder?)? {
        guard let conversation = batch.open(sampling: .referenceDefaults, seed: options.seed ?? 7) else { return nil }
        return (conversation, ClosureTextDecoder { "<\($0)>" })
    }
}

@Suite(.serialized, .timeLimit(.minutes(4))) struct BatchedServerTests {
    static let frames = 8

    static func server(batching: Bool, sessions: Int) throws -> MoshiServer {
        var config = ServerConfiguration()
        config.port = 0
        config.maximumSessions = sessions
        config.idleTimeoutSeconds = 60
        config.batching = batching
        // Input sent faster than real time, never concealed, never dropped: the test compares
        // what the model makes of the same frames, whatever the machine's speed.
        config.maximumInputAheadSeconds = 600
        config.jitterAllowanceMilliseconds = 0
        config.latePolicy = .growLatency(maxFrames: 1000)
        let server = try MoshiServer(configuration: config, factory: BatchingSyntheticFactory())
        // As `moshi serve` does before READY: its members must leave every slot free again.
        server.warmUpBatch(frames: 2)
        return server
    }

    /// What a framed client gets back: each audio payload and each text piece, in order.
    static func converse(port: Int, seed: UInt64, pitch: Float) throws -> (audio: [[UInt8]], text: [String]) {
        let client = try FramedClient(host: "127.0.0.1", port: port, options: SessionOptions(seed: seed))
        #expect(try client.receive()?.kind == .handshake)
        let samples = (0..<(frames * 1920)).map { i in 0.3 * sin(2 * Float.pi * pitch * Float(i) / 24000) }
        for packet in try TestAudio.packets(samples) { try client.send(.audio, payload: packet) }
        client.finishSending()
        let messages = try receiveAll(client)
        return (messages.filter { $0.kind == .audio }.map(\.payload),
                messages.filter { $0.kind == .text }.map { String(decoding: $0.payload, as: UTF8.self) })
    }

    /// Three clients at once in one batch, each with its own voice and seed, get exactly the
    /// Opus packets and words each gets alone on an unbatched server.
    @Test func batchedSessionsGetWhatEachGetsAlone() throws {
        let voices: [(seed: UInt64, pitch: Float)] = [(3, 150), (5, 220), (11, 330)]
        let alone = try Self.server(batching: false, sessions: 1)
        var expected: [(audio: [[UInt8]], text: [String])] = []
        for voice in voices { expected.append(try Self.converse(port: alone.port, seed: voice.seed, pitch: voice.pitch)) }
        alone.shutdown()

        let batched = try Self.server(batching: true, sessions: voices.count)
        defer { batched.shutdown() }
        #expect(batched.isBatching)
        let got = Mutex<[Int: (audio: [[UInt8]], text: [String])]>([:])
        let group = DispatchGroup()
        for (i, voice) in voices.enumerated() {
            group.enter()
            Thread {
                if let reply = try? Self.converse(port: batched.port, seed: voice.seed, pitch: voice.pitch) { got.withLock { $0[i] = reply } }
                group.leave()
            }.start()
        }
        #expect(group.wait(timeout: .now() + 180) == .success)
        let replies = got.withLock { $0 }
        for i in voices.indices {
            #expect(expected[i].audio.count == Self.frames - 1, "alone: frame 0 is the model's delay")
            #expect(replies[i]?.audio == expected[i].audio, "session \(i): the same Opus packets")
            #expect(replies[i]?.text == expected[i].text, "session \(i): the same words")
        }
        // Different voices and seeds: the sessions' replies differ (the comparison is not vacuous).
        #expect(expected[0].audio != expected[1].audio)
        #expect(batched.statistics.snapshot.frames == voices.count * Self.frames)
    }

    /// Sessions come and go: one that joins while another is half-way gets its own alone-reply.
    @Test func aSessionJoiningMidwayIsUndisturbed() throws {
        let alone = try Self.server(batching: false, sessions: 1)
        let expected = try Self.converse(port: alone.port, seed: 9, pitch: 200)
        alone.shutdown()
        let batched = try Self.server(batching: true, sessions: 2)
        defer { batched.shutdown() }
        _ = try Self.converse(port: batched.port, seed: 1, pitch: 120)   // a first session, ended
        let second = try Self.converse(port: batched.port, seed: 9, pitch: 200)
        #expect(second.audio == expected.audio)
        #expect(second.text == expected.text)
    }
}

/// Late policy on every protocol: a model slower than real time falls behind, and the frames it
/// has fallen behind on are dropped and counted instead of queued (which made reply lag grow
/// without bound for Ogg and WebSocket input before).
@Suite(.serialized, .timeLimit(.minutes(2))) struct LateInputTests {
    /// 200 ms a frame: 2.5x slower than real time.
    struct SlowFactory: ConversationFactory {
        var modelDescription: String { "slow (test)" }
        func makeConversation(options: SessionOptions) throws -> ServerConversation {
            ServerConversation(processor: SleepingProcessor(microseconds: 200_000), textDecoder: nil)
        }
    }

    final class SleepingProcessor: FrameProcessor {
        let stageNames = ["sleep"]
        let microseconds: UInt32
        init(microseconds: UInt32) { self.microseconds = microseconds }
        func process(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, stageNanoseconds: UnsafeMutablePointer<UInt64>) -> FrameResult {
            usleep(microseconds)
            output.update(repeating: 0, count: 1920)
            return FrameResult(producedAudio: true, textToken: nil)
        }
        func reset() {}
    }

    /// A server with the default late policy and a WebSocket client past its handshake.
    static func serve(_ factory: ConversationFactory) throws -> (MoshiServer, WebSocketTestClient) {
        var config = ServerConfiguration()
        config.port = 0
        config.latePolicy = .dropOldest(maxQueued: 2)
        let server = try MoshiServer(configuration: config, factory: factory)
        var client = try WebSocketTestClient(port: server.port, path: "/api/chat")
        #expect(client.nextFrame()?.1.first == MessageKind.handshake.rawValue)
        return (server, client)
    }

    /// Kyutai's client behaviour on /api/chat: one 80 ms Ogg page per message, in real time,
    /// for 3 s (37 frames). The model keeps at most the policy's 2 frames waiting: it runs
    /// about one frame in 2.5, drops the rest (counted as dropped input), counts late frames,
    /// and each reply comes back within a few frames of its input, not seconds.
    @Test func webSocketInputTheModelFallsBehindOnIsDroppedAndCounted() throws {
        let (server, client) = try Self.serve(SlowFactory())
        defer { server.shutdown() }
        var socket = client
        let ogg = try KyutaiStyleOgg()
        let frames = 37
        let start = Date()
        for i in 0..<frames {
            let wait = start.addingTimeInterval(Double(i) * 0.08).timeIntervalSinceNow
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            socket.sendFrame(opcode: 0x2, [MessageKind.audio.rawValue] + (try ogg.page(of: TestAudio.tone(seconds: 0.08))))
        }
        #expect(eventually(5) {
            let s = server.statistics.snapshot
            return s.frames + s.droppedInputFrames >= frames - 1
        })
        let s = server.statistics.snapshot
        #expect(s.droppedInputFrames >= 10, "dropped \(s.droppedInputFrames) of \(frames)")
        #expect(s.frames <= 25, "ran \(s.frames) frames at 200 ms each in 3 s")
        #expect(s.lateFrames >= 1)
        // Reply lag stays bounded by the policy: 2 frames waiting + the frame running, plus slack.
        let lag = server.statistics.metrics.replyLag
        #expect(lag.count >= 5)
        let withinOneSecond = lag.cumulativeCounts[lag.upperBoundsNanoseconds.firstIndex { $0 >= 1_000_000_000 }!]
        #expect(withinOneSecond == lag.count, "\(lag.count - withinOneSecond) replies came more than 1 s after their input")
    }

    /// Audio that arrives early (a page of a second, as ffmpeg's muxer writes) is not late: a
    /// model that keeps up runs every frame of it, drops nothing.
    @Test func earlyAudioIsNeverDropped() throws {
        let (server, connected) = try Self.serve(EchoFactory())
        defer { server.shutdown() }
        var client = connected
        let ogg = try AudioFile.encodeOggOpus(TestAudio.tone(seconds: 1.2), frameDuration: .ms20)
        client.sendFrame(opcode: 0x2, [MessageKind.audio.rawValue] + ogg)
        #expect(eventually(5) { server.statistics.snapshot.frames == 15 })
        #expect(server.statistics.snapshot.droppedInputFrames == 0)
    }
}
