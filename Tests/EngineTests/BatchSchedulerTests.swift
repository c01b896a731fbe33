import Foundation
import Mimi
import MoshiLM
import MoshiNumerics
import Testing
@testable import Engine

/// Conversations through the lockstep `BatchScheduler` against each alone in a `ConversationSession`.
@Suite struct BatchSchedulerTests {
    static let sampling = LMSampling(textTemperature: 0.7, textTopK: 25, audioTemperature: 0.8, audioTopK: 50)

    static func weights() throws -> (LMWeights, MimiWeights) {
        var config = LMConfig.synthetic
        config.dim = 64; config.heads = 4; config.layers = 2; config.feedForward = 96; config.context = 20
        config.textCard = 100
        config.depformer.dim = 32; config.depformer.heads = 2; config.depformer.layers = 1; config.depformer.feedForward = 48
        let lm = try LMWeights(store: LMRandomCheckpoint.make(config: config, format: .f32, seed: 4), config: config)
        let mimiConfig = MimiConfig.official(codebooks: 8)
        let mimi = try MimiWeights(store: MimiRandomCheckpoint.make(config: mimiConfig, seed: 2), config: mimiConfig)
        return (lm, mimi)
    }

    /// Frame `f` of a user's voice: a sine whose pitch depends on `voice`.
    static func frame(_ f: Int, voice: Int) -> [Float] {
        let n = FrameTiming.samplesPerFrame
        return (0..<n).map { 0.3 * Float(sin(Double(f * n + $0) * (0.03 + 0.02 * Double(voice)))) }
    }

    static func alone(_ lm: LMWeights, _ mimi: MimiWeights, voice: Int, seed: UInt64, frames: Int, pool: ThreadPool? = nil) throws -> [(FrameResult, [Float])] {
        let session = try ConversationSession(generator: LMGenerator(model: try LMModel(weights: lm, pool: pool), sampling: sampling, seed: seed), mimi: mimi)
        var output = [Float](repeating: 0, count: FrameTiming.samplesPerFrame)
        var stages = [UInt64](repeating: 0, count: 4)
        return (0..<frames).map { f in
            let result = session.process(frame(f, voice: voice), output: &output, stageNanoseconds: &stages)
            return (result, result.producedAudio ? output : [])
        }
    }

    /// A speaks from tick 0 to 5 and skips tick 3; B opens at tick 1 and speaks every tick
    /// after. Both get, frame by frame, the audio and text they get alone. On a two-thread pool
    /// the two conversations' Mimi runs side by side, one per thread, while alone (and in tick 0
    /// and 3) one conversation's products are split over both: the numbers are the same.
    @Test(arguments: [1, 2]) func twoConversationsEqualEachAlone(threads: Int) throws {
        let (lm, mimi) = try BatchSchedulerTests.weights()
        let pool = threads > 1 ? ThreadPool(threads: threads) : nil
        let scheduler = try BatchScheduler(lm: try LMBatch(weights: lm, capacity: 2, pool: pool), mimi: mimi)
        let a = scheduler.open(sampling: BatchSchedulerTests.sampling, seed: 5)!
        var b: BatchedConversation? = nil
        var got: [[(FrameResult, [Float])]] = [[], []]
        var sent = [0, 0]
        for tick in 0..<7 {
            if tick == 1 { b = scheduler.open(sampling: BatchSchedulerTests.sampling, seed: 6) }
            if tick >= 1 { #expect(scheduler.open() == nil, "tick \(tick): two slots, both taken") }
            let members: [(Int, BatchedConversation)] = (tick == 3 ? [] : [(0, a)]) + (b.map { [(1, $0)] } ?? [])
            for (i, c) in members {
                BatchSchedulerTests.frame(sent[i], voice: i).withUnsafeBufferPointer { c.submit(frame: $0.baseAddress!) }
                sent[i] += 1
            }
            #expect(scheduler.tick() == members.count)
            for (i, c) in members {
                got[i].append((c.reply, c.reply.producedAudio ? Array(UnsafeBufferPointer(start: c.output, count: FrameTiming.samplesPerFrame)) : []))
            }
        }
        for (i, seed) in [(0, UInt64(5)), (1, 6)] {
            let want = try BatchSchedulerTests.alone(lm, mimi, voice: i, seed: seed, frames: sent[i], pool: pool)
            #expect(got[i].map(\.0) == want.map(\.0), "conversation \(i): replies")
            #expect(got[i].map(\.1) == want.map(\.1), "conversation \(i): audio")
            #expect(got[i].dropFirst().allSatisfy { $0.0.producedAudio && $0.1.contains { $0 != 0 } })
        }
        #expect(got[0].map(\.0.textToken) != got[1].map(\.0.textToken) || got[0].map(\.1) != got[1].map(\.1), "the two conversations differ")
        scheduler.close(b!)
        #expect(scheduler.openConversations == 1)
        #expect(scheduler.open(seed: 9) != nil, "a closed slot is free again")
    }
}
