import Foundation
import Mimi
import MoshiLM
import MoshiNumerics
import Testing
@testable import Engine

/// A conversation (Mimi encode, LM step, Mimi decode) as the frame loop runs it.
@Suite struct ConversationSessionTests {
    /// A small LM with Moshi's streams and codebook size, and Mimi with random official weights.
    static func session() throws -> ConversationSession {
        var config = LMConfig.synthetic
        config.dim = 64; config.heads = 4; config.layers = 2; config.feedForward = 96; config.context = 20
        config.textCard = 100
        config.depformer.dim = 32; config.depformer.heads = 2; config.depformer.layers = 1; config.depformer.feedForward = 48
        let lm = try LMWeights(store: LMRandomCheckpoint.make(config: config, format: .f32, seed: 4), config: config)
        let generator = LMGenerator(model: try LMModel(weights: lm), sampling: .greedy)
        let mimiConfig = MimiConfig.official(codebooks: 8)
        let mimi = try MimiWeights(store: MimiRandomCheckpoint.make(config: mimiConfig, seed: 2), config: mimiConfig)
        return try ConversationSession(generator: generator, mimi: mimi)
    }

    static func run(_ session: ConversationSession, frames: Int) -> (audio: [[Float]], text: [Int32?], produced: [Bool]) {
        let n = FrameTiming.samplesPerFrame
        var input = [Float](repeating: 0, count: n)
        var output = [Float](repeating: 0, count: n)
        var stages = [UInt64](repeating: 0, count: 4)
        var audio: [[Float]] = [], text: [Int32?] = [], produced: [Bool] = []
        for f in 0..<frames {
            for i in 0..<n { input[i] = 0.3 * Float(sin(Double(f * n + i) * 0.05)) }
            let result = session.process(input, output: &output, stageNanoseconds: &stages)
            produced.append(result.producedAudio)
            text.append(result.textToken)
            audio.append(result.producedAudio ? output : [])
            #expect(stages[0] > 0 && stages[1] > 0 && stages[2] > 0, "frame \(f): stages timed")
        }
        return (audio, text, produced)
    }

    @Test func firstFrameIsSwallowedThenEveryFrameAnswers() throws {
        let session = try ConversationSessionTests.session()
        #expect(session.stageNames == ["mimi_encode", "temporal", "depformer", "mimi_decode"])
        let run = ConversationSessionTests.run(session, frames: 6)
        #expect(run.produced == [false, true, true, true, true, true])
        #expect(run.text[0] == nil && run.text.dropFirst().allSatisfy { $0 != nil })
        #expect(run.audio[1].allSatisfy { $0.isFinite } && run.audio[1].contains { $0 != 0 })
        #expect(session.decodeErrors == 0)
    }

    @Test func resetStartsTheSameConversationAgain() throws {
        let session = try ConversationSessionTests.session()
        let first = ConversationSessionTests.run(session, frames: 5)
        session.reset()
        let second = ConversationSessionTests.run(session, frames: 5)
        #expect(first.text == second.text)
        #expect(first.audio == second.audio)
    }

    @Test func aCodecThatDoesNotFitTheModelIsRefused() throws {
        var config = LMConfig.synthetic
        config.dim = 64; config.heads = 4; config.layers = 1; config.feedForward = 96; config.context = 8; config.textCard = 50
        config.depformer.dim = 32; config.depformer.heads = 2; config.depformer.layers = 1; config.depformer.feedForward = 48
        let lm = try LMWeights(store: LMRandomCheckpoint.make(config: config, format: .f32), config: config)
        let generator = LMGenerator(model: try LMModel(weights: lm))
        let mimiConfig = MimiConfig.official(codebooks: 4)
        let mimi = try MimiWeights(store: MimiRandomCheckpoint.make(config: mimiConfig), config: mimiConfig)
        #expect(throws: ConversationError.self) { try ConversationSession(generator: generator, mimi: mimi) }
    }
}
