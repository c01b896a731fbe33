@testable import MoshiClient
import AudioIO
import Engine
import Foundation
import MoshiLM
import Mimi
import Testing
@testable import Server

/// The synthetic model (real Mimi + Moshi-structured LM, random weights): one LMModel and
/// ConversationSession per connection over weights built once.
struct SyntheticFactory: ConversationFactory {
    nonisolated(unsafe) static let weights: (lm: LMWeights, mimi: MimiWeights) = {
        (try! SyntheticModel.languageModel(), try! SyntheticModel.mimi())
    }()
    var modelDescription: String { "synthetic (test)" }
    func makeConversation(options: SessionOptions) throws -> ServerConversation {
        let (lm, mimi) = SyntheticFactory.weights
        let generator = LMGenerator(model: try LMModel(weights: lm), sampling: .referenceDefaults, seed: 7)
        return ServerConversation(processor: try ConversationSession(generator: generator, mimi: mimi),
                                  textDecoder: ClosureTextDecoder { "<\($0)>" })
    }
}

/// Ten-second conversations with the synthetic model on loopback, the client's audio sent at
/// the pace of speech, through each of the three protocols. Serialized: each takes 10 s and the
/// model's CPU time; no test asserts wall time (timings belong to `moshi profile`).
@Suite(.serialized, .timeLimit(.minutes(3))) struct SyntheticConversationTests {
    static let seconds = 10.0
    static let frames = Int(seconds / 0.08)     // 125

    static func server() throws -> MoshiServer {
        var config = ServerConfiguration()
        config.port = 0
        config.maximumSessions = 1
        config.idleTimeoutSeconds = 20
        // Every frame answered even when a loaded machine runs the debug model slower than
        // real time: these tests check the protocols; staying live is `LateInputTests`' part.
        config.latePolicy = .growLatency(maxFrames: 1000)
        return try MoshiServer(configuration: config, factory: SyntheticFactory())
    }

    /// Speech-like input: a gliding tone with a syllable envelope.
    static func speech() -> [Float] {
        (0..<Int(seconds * 24000)).map { i in
            let t = Float(i) / 24000
            return 0.3 * (0.5 + 0.5 * sin(2 * .pi * 4 * t)) * sin(2 * .pi * (150 + 40 * sin(2 * .pi * 0.5 * t)) * t)
        }
    }

    static func checkReply(_ samples: [Float], expectedFrames: ClosedRange<Int>) {
        let frames = samples.count / 1920
        #expect(expectedFrames.contains(frames), "reply of \(frames) frames")
        #expect(samples.allSatisfy { $0.isFinite })
        #expect(TestAudio.rms(samples[...]) > 1e-4, "the model's (noise) audio is there")
    }

    @Test func framedClientHoldsATenSecondConversation() throws {
        let server = try Self.server()
        defer { server.shutdown() }
        let client = try FramedClient(host: "127.0.0.1", port: server.port, options: SessionOptions(seed: 3))
        #expect(try client.receive()?.kind == .handshake)
        let packets = try TestAudio.packets(Self.speech())
        let sender = Thread {
            let start = Date()
            for (i, packet) in packets.enumerated() {
                let due = start.addingTimeInterval(Double(i) * 0.02)
                let wait = due.timeIntervalSinceNow
                if wait > 0 { Thread.sleep(forTimeInterval: wait) }
                try? client.send(.audio, payload: packet)
            }
            client.finishSending()
        }
        sender.start()
        let messages = try receiveAll(client)
        let decoder = try OpusDecoder()
        var reply: [Float] = []
        var pcm = [Float](repeating: 0, count: 5760)
        for m in messages where m.kind == .audio {
            let n = try m.payload.withUnsafeBufferPointer { p in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(p, into: $0) } }
            reply += pcm[0..<n]
        }
        // Frame 0 is the model's acoustic delay; every later frame is answered (a stalled
        // moment on a busy machine may add a concealed frame or two).
        Self.checkReply(reply, expectedFrames: (Self.frames - 1)...(Self.frames + 4))
        #expect(messages.filter { $0.kind == .text }.count >= Self.frames - 2)
        #expect(messages.last?.kind == .control)
        #expect(eventually { server.activeSessions == 0 })
    }

    @Test(.enabled(if: OggServerTests.tool("ffmpeg") != nil && OggServerTests.tool("socat") != nil, "needs ffmpeg and socat"))
    func ffmpegAndSocatHoldATenSecondConversationInRealTime() throws {
        let server = try Self.server()
        defer { server.shutdown() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-synthetic-ogg-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let talk = dir.appendingPathComponent("talk.wav").path, reply = dir.appendingPathComponent("reply.ogg").path
        try AudioFile.write(talk, samples: Self.speech(), sampleRate: 24000)
        // -re: ffmpeg sends at the pace of the audio (its Ogg muxer flushes about a page per second).
        let status = try OggServerTests.shell("ffmpeg -nostdin -loglevel error -re -i \(talk) -c:a libopus -f ogg - | socat -t 20 - TCP:127.0.0.1:\(server.port) > \(reply)")
        #expect(status == 0)
        let samples = try AudioFile.decodeOggOpus([UInt8](Data(contentsOf: URL(fileURLWithPath: reply))))
        // Bursty pages are waited for, never concealed: the reply is as long as the input.
        Self.checkReply(samples, expectedFrames: (Self.frames - 2)...(Self.frames + 1))   // less the first frame and the pre-skip
        #expect(try OggServerTests.shell("ffmpeg -nostdin -loglevel error -i \(reply) -f null -") == 0)
        #expect(eventually { server.activeSessions == 0 })
    }

    /// The pages of an Ogg stream: (granule position, the page's bytes).
    static func oggPages(_ ogg: [UInt8]) -> [(Int64, [UInt8])] {
        var pages: [(Int64, [UInt8])] = []
        var at = 0
        while at + 27 <= ogg.count {
            let segments = Int(ogg[at + 26])
            let body = ogg[(at + 27)..<(at + 27 + segments)].reduce(0) { $0 + Int($1) }
            let end = at + 27 + segments + body
            let granule = ogg[(at + 6)..<(at + 14)].reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
            pages.append((granule, Array(ogg[at..<end])))
            at = end
        }
        return pages
    }

    @Test func kyutaiWebSocketClientHoldsATenSecondConversation() throws {
        let server = try Self.server()
        defer { server.shutdown() }
        var client = try WebSocketTestClient(port: server.port, path: "/api/chat")
        let socket = client.socket
        let ogg = try AudioFile.encodeOggOpus(Self.speech())
        // Kyutai's web client sends its recorder's pages as they come: each page here goes out
        // when the audio it ends with has been "recorded" (its granule position, 48 kHz), in
        // messages of at most 200 ms. (Pacing by bytes would not be real time: Opus is VBR.)
        let pages = Self.oggPages(ogg)
        let sender = Thread {
            let writer = WebSocketTestClient(socket: socket)
            let start = Date()
            var pending: [UInt8] = []
            var lastSent = 0.0
            for (granule, bytes) in pages {
                pending += bytes
                let due = Double(max(0, granule)) / 48_000
                guard due - lastSent >= 0.2 || bytes == pages.last?.1 else { continue }
                let wait = start.addingTimeInterval(due).timeIntervalSinceNow
                if wait > 0 { Thread.sleep(forTimeInterval: wait) }
                writer.sendFrame(opcode: 0x2, [MessageKind.audio.rawValue] + pending)
                pending = []
                lastSent = due
            }
            if !pending.isEmpty { writer.sendFrame(opcode: 0x2, [MessageKind.audio.rawValue] + pending) }
        }
        sender.start()
        // The client reads the replies, then closes (after its Close no data frames come).
        var frames: [(UInt8, [UInt8])] = []
        while frames.filter({ $0.0 == 0x2 && $0.1.first == 1 }).count < Self.frames - 2, let frame = client.nextFrame(timeoutSeconds: 20) {
            frames.append(frame)
        }
        client.sendFrame(opcode: 0x8, [0x03, 0xE8])
        while let frame = client.nextFrame() { frames.append(frame) }
        let binary = frames.filter { $0.0 == 0x2 }.map(\.1)
        #expect(binary.first?.first == 0)
        let audio = binary.filter { $0.first == 1 }.flatMap { $0.dropFirst() }
        let samples = try AudioFile.decodeOggOpus(Array(audio))
        // The client closed once Self.frames - 2 audio messages came, the first of which holds
        // only the OpusHead/OpusTags pages; after its Close no data frames come.
        Self.checkReply(samples, expectedFrames: (Self.frames - 3)...(Self.frames + 1))
        #expect(binary.filter { $0.first == 2 }.count >= Self.frames - 3)
        #expect(eventually { server.activeSessions == 0 })
    }
}
