@testable import MoshiClient
import AudioIO
import Engine
import Foundation
import Mimi
import MoshiLM
import Synchronization
import Testing
@testable import Server

/// Kyutai's `skip_frames`: the input encoder restarts after a session's first frame, once.
@Suite(.serialized) struct FirstFrameTests {
    /// Records the order of `process` and `resetInputEncoder` calls.
    final class RecordingProcessor: FrameProcessor, InputEncoderResetting, @unchecked Sendable {
        let log: CallLog
        init(_ log: CallLog) { self.log = log }
        let stageNames = ["echo"]
        func process(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, stageNanoseconds: UnsafeMutablePointer<UInt64>) -> FrameResult {
            log.calls.withLock { $0.append("process") }
            output.update(from: input, count: FrameTiming.samplesPerFrame)
            stageNanoseconds[0] = 0
            return FrameResult(producedAudio: true, textToken: nil)
        }
        func reset() {}
        func resetInputEncoder() { log.calls.withLock { $0.append("reset") } }
    }

    final class CallLog: Sendable { let calls = Mutex<[String]>([]) }

    final class RecordingFactory: ConversationFactory, @unchecked Sendable {
        let calls = CallLog()
        var modelDescription: String { "recording" }
        func makeConversation(options: SessionOptions) throws -> ServerConversation {
            ServerConversation(processor: RecordingProcessor(calls), textDecoder: nil)
        }
    }

    @Test func theEncoderRestartsAfterTheFirstFrameOnly() throws {
        let factory = RecordingFactory()
        var config = ServerConfiguration()
        config.port = 0
        config.maximumInputAheadSeconds = 60
        let server = try MoshiServer(configuration: config, factory: factory)
        defer { server.shutdown() }
        let client = try FramedClient(host: "127.0.0.1", port: server.port)
        #expect(try client.receive()?.kind == .handshake)
        for packet in try TestAudio.packets(TestAudio.tone(seconds: 0.24)) { try client.send(.audio, payload: packet) }
        client.finishSending()
        _ = try receiveAll(client)
        #expect(factory.calls.calls.withLock { $0 } == ["process", "reset", "process", "process"])
    }

    /// `ConversationSession.resetInputEncoder` puts Mimi's encoder back at a stream's start: the
    /// frame after it gets the codes a fresh encoder gives it, not those of a continued stream.
    @Test func resettingTheSessionsEncoderRestartsItsStream() throws {
        let (lm, mimi) = SyntheticFactory.weights
        let session = try ConversationSession(generator: LMGenerator(model: try LMModel(weights: lm), sampling: .referenceDefaults, seed: 1), mimi: mimi)
        let first = TestAudio.tone(seconds: 0.08, amplitude: 0.5)
        let second = (0..<1920).map { 0.4 * sin(Float($0) * 0.05) }
        let fresh = MimiEncoder(weights: mimi).step(second)
        let continued: [Int32] = {
            let encoder = MimiEncoder(weights: mimi)
            _ = encoder.step(first)
            return encoder.step(second)
        }()
        _ = session.encoder.step(first)
        session.resetInputEncoder()
        #expect(session.encoder.step(second) == fresh)
        #expect(continued != fresh)  // the reset matters: without it the codes differ
    }
}

/// The Metadata message: `reply_delay_frames` counts the frames before the model's first
/// audio, sent once just before that audio, on the protocols that have room for it.
@Suite(.serialized) struct ReplyDelayMetadataTests {
    /// Yields nothing for its first `delay` frames, then echoes.
    final class DelayedEcho: FrameProcessor, @unchecked Sendable {
        let delay: Int
        var frame = 0
        init(delay: Int) { self.delay = delay }
        let stageNames = ["echo"]
        func process(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, stageNanoseconds: UnsafeMutablePointer<UInt64>) -> FrameResult {
            frame += 1
            stageNanoseconds[0] = 0
            guard frame > delay else { return FrameResult(producedAudio: false, textToken: nil) }
            output.update(from: input, count: FrameTiming.samplesPerFrame)
            return FrameResult(producedAudio: true, textToken: nil)
        }
        func reset() { frame = 0 }
    }

    struct DelayedFactory: ConversationFactory {
        let delay: Int
        var modelDescription: String { "delayed echo" }
        func makeConversation(options: SessionOptions) throws -> ServerConversation {
            ServerConversation(processor: DelayedEcho(delay: delay), textDecoder: nil)
        }
    }

    @Test(arguments: [0, 1, 3]) func framedClientsAreToldTheReplyDelay(delay: Int) throws {
        var config = ServerConfiguration()
        config.port = 0
        config.maximumInputAheadSeconds = 60
        let server = try MoshiServer(configuration: config, factory: DelayedFactory(delay: delay))
        defer { server.shutdown() }
        let client = try FramedClient(host: "127.0.0.1", port: server.port)
        for packet in try TestAudio.packets(TestAudio.tone(seconds: 0.4)) { try client.send(.audio, payload: packet) }
        client.finishSending()
        let kinds = try receiveAll(client)
        let metadata = kinds.filter { $0.kind == .metadata }
        #expect(metadata.map(\.text) == ["{\"reply_delay_frames\":\(delay)}"])
        let firstAudio = try #require(kinds.firstIndex { $0.kind == .audio })
        #expect(kinds[firstAudio - 1].kind == .metadata)
        #expect(kinds.filter { $0.kind == .audio }.count == 5 - delay)
    }

    @Test func webSocketClientsAreToldTheReplyDelay() throws {
        var config = ServerConfiguration()
        config.port = 0
        config.maximumInputAheadSeconds = 60
        let server = try MoshiServer(configuration: config, factory: DelayedFactory(delay: 1))
        defer { server.shutdown() }
        var client = try WebSocketTestClient(port: server.port, path: "/api/chat")
        #expect(client.nextFrame()?.1.first == MessageKind.handshake.rawValue)
        let ogg = try KyutaiStyleOgg()
        for _ in 0..<3 { client.sendFrame(opcode: 0x2, [MessageKind.audio.rawValue] + (try ogg.page(of: TestAudio.tone(seconds: 0.08)))) }
        var kinds: [UInt8] = []
        var metadata: [String] = []
        while kinds.filter({ $0 == MessageKind.audio.rawValue }).count < 2, let frame = client.nextFrame(timeoutSeconds: 3) {
            guard let kind = frame.1.first else { continue }
            kinds.append(kind)
            if kind == MessageKind.metadata.rawValue { metadata.append(String(decoding: frame.1.dropFirst(), as: UTF8.self)) }
        }
        #expect(metadata == ["{\"reply_delay_frames\":1}"])
        #expect(kinds.first == MessageKind.metadata.rawValue)
    }
}
