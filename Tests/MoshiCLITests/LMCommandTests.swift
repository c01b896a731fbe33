import AudioIO
import Foundation
import Mimi
import Testing
import Weights
@testable import MoshiCLI

/// `moshi lm generate` and `moshi run` end to end on files.
@Suite struct LMCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("MoshiLMTests/Fixtures").path

    static func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "moshi-lm-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The reference's greedy run of config 0, replayed through the command: T user frames in,
    /// T-1 returned frames out, identical to the reference's.
    @Test func generateReplaysTheReferenceGreedyRun() throws {
        let dir = try LMCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let io = try SafetensorsFile(path: LMCommandTests.fixtures + "/lm_seed0_io.safetensors")
        let user = try io.require("user_codes").integers().map { Int32($0) }      // [T, 8]
        let steps = user.count / 8
        let frames = (0..<steps).map { t in Array(user[t * 8 ..< (t + 1) * 8]) }
        let codesPath = dir + "/user.npy"
        FileManager.default.createFile(atPath: codesPath, contents: Data(MimiCodes(frames: frames, codebooks: 8).npyBytes()))
        let outPath = dir + "/out.npy"
        let command = try LMGenerateCommand.parse([
            "--lm", LMCommandTests.fixtures + "/lm_seed0.safetensors",
            "--lm-config", LMCommandTests.fixtures + "/lm_seed0_config.json",
            "--user-codes", codesPath, "-o", outPath, "--greedy", "--threads", "1",
        ])
        try command.run()
        let out = try MimiCodes(npy: [UInt8](try Data(contentsOf: URL(fileURLWithPath: outPath))))
        #expect(out.codebooks == 9 && out.frames == steps - 1)
        let text = try io.require("greedy_text").integers().map { Int32($0) }
        let audio = try io.require("greedy_audio").integers().map { Int32($0) }
        for t in 1..<steps {
            let want = [text[t]] + Array(audio[t * 8 ..< (t + 1) * 8])
            #expect(out.frame(t - 1) == want, "returned step \(t)")
        }
    }

    @Test func generateRefusesCodesOutsideTheCodebook() throws {
        let dir = try LMCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let codesPath = dir + "/bad.npy"
        let frames = [[Int32](repeating: 1, count: 8), [Int32](repeating: 5000, count: 8)]
        FileManager.default.createFile(atPath: codesPath, contents: Data(MimiCodes(frames: frames, codebooks: 8).npyBytes()))
        let command = try LMGenerateCommand.parse([
            "--lm", LMCommandTests.fixtures + "/lm_seed0.safetensors",
            "--lm-config", LMCommandTests.fixtures + "/lm_seed0_config.json",
            "--user-codes", codesPath, "-o", dir + "/out.npy",
        ])
        #expect { try command.run() } throws: { "\($0)".contains("5000") }
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.npy"))
    }

    @Test func missingWeightsSayWhatToPass() throws {
        let command = try LMGenerateCommand.parse([
            "--model-dir", NSTemporaryDirectory(), "--user-codes", "/nonexistent.npy", "-o", "/tmp/x.npy",
        ])
        #expect { try command.run() } throws: { "\($0)".contains("--synthetic") && "\($0)".contains("--lm") }
    }

    @Test func badOptionsAreRejectedAtParse() {
        #expect(throws: (any Error).self) { try LMGenerateCommand.parse(["--user-codes", "a", "-o", "b", "--kv-cache", "f8"]) }
        #expect(throws: (any Error).self) { try LMGenerateCommand.parse(["--user-codes", "a", "-o", "b", "--format", "q2"]) }
        #expect(throws: (any Error).self) { try LMGenerateCommand.parse(["--user-codes", "a", "-o", "b", "--temp", "-1"]) }
        #expect(throws: (any Error).self) { try BenchLMCommand.parse(["--steps", "0"]) }
    }
}

/// `moshi run --synthetic`: the whole offline pipeline without weights.
@Suite struct RunCommandTests {
    @Test func replyIsAlignedWithTheInput() throws {
        let dir = try LMCommandTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let count = 24_000 + 500     // 13 frames, the last one partial
        let samples = (0..<count).map { 0.3 * Float(sin(Double($0) * 0.03)) }
        try AudioFile.write(dir + "/talk.wav", samples: samples, sampleRate: 24_000)
        let command = try RunCommand.parse(["--synthetic", dir + "/talk.wav", "-o", dir + "/reply.wav", "--stereo", "--threads", "2"])
        try command.run()
        let reply = try AudioFile.read(dir + "/reply.wav")
        #expect(reply.sampleRate == 24_000 && reply.channelCount == 2)
        #expect(reply.samples.count == 2 * count, "same length as the input")
        let left = stride(from: 0, to: reply.samples.count, by: 2).map { reply.samples[$0] }
        let right = stride(from: 1, to: reply.samples.count, by: 2).map { reply.samples[$0] }
        let worst = zip(left, samples).map { abs($0 - $1) }.max() ?? 1
        #expect(worst < 1e-3, "left channel is the user (16-bit WAV)")
        #expect(right.prefix(1920).allSatisfy { $0 == 0 }, "the model is silent during the first frame")
        #expect(right.dropFirst(1920).contains { $0 != 0 }, "then it speaks")
    }
}
