@testable import MoshiClient
import AudioIO
import Engine
import Foundation
@testable import Server

/// A frame processor that answers each frame with the same frame at half level (so the reply
/// is decodable, audible audio) and emits text token `frame index` every fourth frame.
final class EchoProcessor: FrameProcessor {
    let stageNames = ["echo"]
    private var frame: Int32 = 0
    func process(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, stageNanoseconds: UnsafeMutablePointer<UInt64>) -> FrameResult {
        for i in 0..<FrameTiming.samplesPerFrame { output[i] = 0.5 * input[i] }
        stageNanoseconds[0] = 0
        defer { frame += 1 }
        return FrameResult(producedAudio: true, textToken: frame % 4 == 0 ? frame : nil)
    }
    func reset() { frame = 0 }
}

/// Makes `EchoProcessor` conversations with a text decoder that spells the token.
struct EchoFactory: ConversationFactory {
    var modelDescription: String { "echo (test)" }
    func makeConversation(options: SessionOptions) throws -> ServerConversation {
        ServerConversation(processor: EchoProcessor(), textDecoder: ClosureTextDecoder { "w\($0) " })
    }
}

/// `EchoFactory` that keeps a weak reference to every processor it makes, to tell how many
/// conversations are still alive.
final class TrackingEchoFactory: ConversationFactory, @unchecked Sendable {
    private final class Weak { weak var value: EchoProcessor?; init(_ v: EchoProcessor) { value = v } }
    private let lock = NSLock()
    private var made_: [Weak] = []
    var modelDescription: String { "echo (tracked, test)" }
    func makeConversation(options: SessionOptions) throws -> ServerConversation {
        let processor = EchoProcessor()
        lock.withLock { made_.append(Weak(processor)) }
        return ServerConversation(processor: processor, textDecoder: ClosureTextDecoder { "w\($0) " })
    }
    var made: Int { lock.withLock { made_.count } }
    var alive: Int { lock.withLock { made_.filter { $0.value != nil }.count } }
}

enum TestAudio {
    /// A 440 Hz tone at 24 kHz.
    static func tone(seconds: Double, amplitude: Float = 0.3) -> [Float] {
        (0..<Int(seconds * 24000)).map { amplitude * sin(2 * Float.pi * 440 * Float($0) / 24000) }
    }

    /// `samples` as 20 ms Opus packets.
    static func packets(_ samples: [Float]) throws -> [[UInt8]] {
        let encoder = try OpusEncoder(sampleRate: 24000, channelCount: 1, application: .voip)
        var result: [[UInt8]] = []
        var offset = 0
        while offset + 480 <= samples.count {
            result.append(try encoder.encode(Array(samples[offset..<(offset + 480)])))
            offset += 480
        }
        return result
    }

    static func rms(_ samples: ArraySlice<Float>) -> Float {
        guard !samples.isEmpty else { return 0 }
        return (samples.reduce(0) { $0 + $1 * $1 } / Float(samples.count)).squareRoot()
    }
}

/// A server on a free loopback port with the echo model.
func makeTestServer(_ adjust: (inout ServerConfiguration) -> Void = { _ in }) throws -> MoshiServer {
    var config = ServerConfiguration()
    config.port = 0
    config.maximumSessions = 4
    config.idleTimeoutSeconds = 10
    config.maximumInputAheadSeconds = 60  // most tests send their whole input at once
    adjust(&config)
    return try MoshiServer(configuration: config, factory: EchoFactory())
}

/// Polls `condition` until it holds or `seconds` pass.
func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// Open file descriptors of this process.
func openFileDescriptors() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

/// All messages until the server closes.
func receiveAll(_ client: FramedClient) throws -> [FramedMessage] {
    var messages: [FramedMessage] = []
    while let m = try client.receive() { messages.append(m) }
    return messages
}
