import AudioIO
import Engine
import Foundation
import Server

/// Answers each 80 ms frame with the same frame at half level, and text token 7 every frame:
/// the reply of `moshi client` tests is audible, decodable and as long as the input.
final class ClientEchoProcessor: FrameProcessor {
    let stageNames = ["echo"]
    private let stallAfterFrames: Set<Int>
    private let stallMilliseconds: Int
    private var frame = 0

    init(stallAfterFrames: Set<Int> = [], stallMilliseconds: Int = 0) {
        self.stallAfterFrames = stallAfterFrames
        self.stallMilliseconds = stallMilliseconds
    }

    func process(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, stageNanoseconds: UnsafeMutablePointer<UInt64>) -> FrameResult {
        if stallAfterFrames.contains(frame) { usleep(UInt32(stallMilliseconds * 1000)) }
        frame += 1
        for i in 0..<FrameTiming.samplesPerFrame { output[i] = 0.5 * input[i] }
        stageNanoseconds[0] = 0
        return FrameResult(producedAudio: true, textToken: 7)
    }
    func reset() { frame = 0 }
}

struct ClientEchoFactory: ConversationFactory {
    /// Frames after which the model stalls for `stallMilliseconds` (a late reply: the client's
    /// playback runs dry).
    var stallAfterFrames: Set<Int> = []
    var stallMilliseconds = 0
    var modelDescription: String { "echo (client tests)" }
    func makeConversation(options: SessionOptions) throws -> ServerConversation {
        ServerConversation(processor: ClientEchoProcessor(stallAfterFrames: stallAfterFrames, stallMilliseconds: stallMilliseconds),
                           textDecoder: ClosureTextDecoder { "w\($0) " })
    }
}

enum ClientTestSupport {
    /// An echo server on a free loopback port.
    static func makeServer(factory: ClientEchoFactory = ClientEchoFactory()) throws -> MoshiServer {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.maximumSessions = 4
        configuration.idleTimeoutSeconds = 10
        // The stall tests delay the model, not the input: no concealment on the server's side.
        configuration.jitterAllowanceMilliseconds = 0
        // ... and the server keeps every frame through a stall (the client's side is under test),
        // where the default policy would drop the frames the model fell behind on.
        configuration.latePolicy = .growLatency(maxFrames: 100)
        return try MoshiServer(configuration: configuration, factory: factory)
    }

    /// A 440 Hz tone at 24 kHz.
    static func tone(seconds: Double, amplitude: Float = 0.3) -> [Float] {
        (0..<Int(seconds * 24000)).map { amplitude * sin(2 * Float.pi * 440 * Float($0) / 24000) }
    }

    static func rms(_ samples: ArraySlice<Float>) -> Float {
        guard !samples.isEmpty else { return 0 }
        return (samples.reduce(0) { $0 + $1 * $1 } / Float(samples.count)).squareRoot()
    }

    /// Writes `samples` as raw S16_LE (what an ALSA `file` plugin's `infile` serves).
    static func writeRaw(_ samples: [Float], to path: String) throws {
        let values = samples.map { Int16(max(-32768, min(32767, ($0 * 32768).rounded()))) }
        try values.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: path))
    }

    /// Reads raw S16_LE samples (what an ALSA `file` plugin wrote).
    static func readRaw(_ path: String) throws -> [Float] {
        try Data(contentsOf: URL(fileURLWithPath: path)).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }.map { Float($0) / 32768 }
    }

    /// An ALSA configuration with a fake microphone reading `input` and a fake speaker writing `output`.
    static func alsaText(input: String, output: String) -> String {
        """
        pcm.moshi_mic { type file slave.pcm { type null } file "/dev/null" infile "\(input)" format raw }
        pcm.moshi_speaker { type file slave.pcm { type null } file "\(output)" format raw }
        """
    }

    /// Frames (80 ms) of `samples` whose level is over `threshold`.
    static func audibleFrames(_ samples: [Float], threshold: Float = 0.05) -> Int {
        stride(from: 0, to: samples.count - 1919, by: 1920).filter { rms(samples[$0..<($0 + 1920)]) > threshold }.count
    }
}

/// A temporary directory removed with the value.
final class ClientTestDirectory: Sendable {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-client-\(UUID().uuidString)")
    init() { try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}
