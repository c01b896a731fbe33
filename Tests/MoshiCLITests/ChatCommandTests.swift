import AudioIO
import Engine
import Foundation
import Testing
@testable import MoshiCLI

/// `moshi chat` against ALSA `file` plugin devices over the `null` PCM: a fake microphone
/// reading a raw file and a fake speaker writing one, paced by the loop's clock.
@Suite(.timeLimit(.minutes(2))) struct ChatCommandTests {
    final class Directory: Sendable {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("moshi-chat-\(UUID().uuidString)")
        init() { try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
        func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    }

    static func alsaText(input: String, output: String) -> String {
        """
        pcm.moshi_mic { type file slave.pcm { type null } file "/dev/null" infile "\(input)" format raw }
        pcm.moshi_speaker { type file slave.pcm { type null } file "\(output)" format raw }
        """
    }

    /// `frames` frames of the built-in speech sample, as the 16-bit values the fake mic serves.
    static func writeMicrophone(frames: Int, to path: String) throws -> [Float] {
        let speech = try BuiltInSpeechSample.samples().prefix(frames * 1920).map { Int16(max(-32768, min(32767, ($0 * 32768).rounded()))) }
        try speech.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: path))
        return speech.map { Float($0) / 32768 }
    }

    static func channels(_ path: String) throws -> (left: [Float], right: [Float], file: WAVFile) {
        let file = try WAVFile(contentsOf: path)
        let left = stride(from: 0, to: file.samples.count, by: 2).map { file.samples[$0] }
        let right = stride(from: 1, to: file.samples.count, by: 2).map { file.samples[$0] }
        return (left, right, file)
    }

    /// Gives back each frame's predecessor, like the model's one frame of acoustic delay.
    final class EchoProcessor: FrameProcessor {
        private var previous = [Float](repeating: 0, count: 1920)
        private var started = false
        var stageNames: [String] { ["echo"] }
        func process(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, stageNanoseconds: UnsafeMutablePointer<UInt64>) -> FrameResult {
            let produced = started
            previous.withUnsafeBufferPointer { if produced { output.update(from: $0.baseAddress!, count: 1920) } }
            previous.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: input, count: 1920) }
            started = true
            return FrameResult(producedAudio: produced, textToken: produced ? 7 : nil)
        }
        func reset() { started = false }
    }

    @Test func theSessionRecordsBothSidesAndPlaysTheModel() throws {
        let directory = Directory()
        let frames = 30
        let microphone = try Self.writeMicrophone(frames: frames, to: directory.path("mic.raw"))
        var session = ChatSession(inputDevice: "moshi_mic", outputDevice: "moshi_speaker")
        session.alsaConfiguration = try ALSAConfiguration(text: Self.alsaText(input: directory.path("mic.raw"), output: directory.path("speaker.raw")))
        session.devicesPaced = false
        session.recordPath = directory.path("chat.wav")
        session.maxFrames = frames
        session.realtimePriority = false
        session.clock = VirtualClock()
        var text = ""
        do {
            let loop = try session.makeLoop(processor: EchoProcessor(), textDecoder: ClosureTextDecoder { "w\($0) " }, describe: "echo")
            let report = try loop.run { if case .text(let piece, _) = $0 { text += piece } }
            #expect(report.frames == frames && report.failures.isEmpty && report.lateFrames == 0 && report.droppedFrames == 0)
        }
        #expect(text == String(repeating: "w7 ", count: frames - 1))
        // The recording: left the microphone, right the model one frame later (silence first).
        let (left, right, file) = try Self.channels(directory.path("chat.wav"))
        #expect(file.channelCount == 2 && file.sampleRate == 24000 && file.frameCount == frames * 1920)
        #expect(left == microphone)
        #expect(right == [Float](repeating: 0, count: 1920) + microphone.prefix((frames - 1) * 1920))
        // The speaker got the same audio as the right channel.
        let played = try Data(contentsOf: URL(fileURLWithPath: directory.path("speaker.raw")))
            .withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }.map { Float($0) / 32768 }
        #expect(played == right)
    }

    @Test func chatRunsForAFewSecondsOnALSAPluginsAndRecords() throws {
        let directory = Directory()
        let microphone = try Self.writeMicrophone(frames: 40, to: directory.path("mic.raw"))
        let configuration = directory.path("alsa.conf")
        try Self.alsaText(input: directory.path("mic.raw"), output: directory.path("speaker.raw")).write(toFile: configuration, atomically: true, encoding: .utf8)
        var command = try MoshiCommand.parseAsRoot([
            "chat", "--synthetic", "--alsa-config", configuration, "--input-device", "moshi_mic", "--output-device", "moshi_speaker",
            "--unpaced-devices", "--duration", "2", "--record", directory.path("chat.wav"), "--quiet", "--no-realtime-priority",
        ])
        let start = Date()
        try command.run()
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed >= 1.9 && elapsed < 30)  // paced in real time
        let (left, right, file) = try Self.channels(directory.path("chat.wav"))
        #expect(file.channelCount == 2 && file.frameCount == 25 * 1920)
        #expect(left == Array(microphone.prefix(25 * 1920)))
        // The model spoke after its first frame.
        let power = right[(2 * 1920)...].reduce(0) { $0 + Double($1 * $1) } / Double(right.count - 2 * 1920)
        #expect(power > 1e-6)
        let played = try Data(contentsOf: URL(fileURLWithPath: directory.path("speaker.raw")))
        #expect(played.count == 25 * 1920 * 2)
    }

    @Test func echoCancellationRunsInTheChatLoop() throws {
        let directory = Directory()
        _ = try Self.writeMicrophone(frames: 12, to: directory.path("mic.raw"))
        var session = ChatSession(inputDevice: "moshi_mic", outputDevice: "moshi_speaker")
        session.alsaConfiguration = try ALSAConfiguration(text: Self.alsaText(input: directory.path("mic.raw"), output: "/dev/null"))
        session.devicesPaced = false
        session.echoCancellation = true
        session.maxFrames = 12
        session.realtimePriority = false
        session.clock = VirtualClock()
        let report = try session.makeLoop(processor: EchoProcessor(), textDecoder: nil, describe: "echo").run()
        #expect(report.frames == 12 && report.processedFrames == 12 && report.failures.isEmpty)
    }

    @Test func aMissingDeviceOrConfigurationIsAClearError() throws {
        let directory = Directory()
        let configuration = directory.path("alsa.conf")
        try Self.alsaText(input: "/dev/null", output: "/dev/null").write(toFile: configuration, atomically: true, encoding: .utf8)
        var command = try MoshiCommand.parseAsRoot(["chat", "--alsa-config", configuration, "--input-device", "nope", "--quiet"])
        #expect(throws: ALSAError.self) { try command.run() }
        var missing = try MoshiCommand.parseAsRoot(["chat", "--alsa-config", directory.path("absent.conf")])
        #expect(throws: (any Error).self) { try missing.run() }
        #expect(throws: (any Error).self) { _ = try MoshiCommand.parseAsRoot(["chat", "--duration", "0"]) }
    }
}
