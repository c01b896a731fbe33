import Foundation
import MoshiNumerics
import Testing
import Weights
@testable import MoshiLM

/// `LMBatch` against `LMGenerator`: every session of a batch gets exactly the tokens, frames
/// and logits it gets stepped alone with the same inputs, sampling and seed, bit for bit, in
/// every weight layout the parity tests use (the batched products run each row through the
/// single-vector kernel in the same summation order, so no tolerance is needed).
@Suite struct LMBatchTests {
    /// What one session saw at one step.
    struct StepRecord: Equatable {
        var chosen: [Int32]
        var produced: Bool
        var frame: [Int32]
        var textLogits: [Float]
        var audioLogits: [Float]
    }

    /// User codes for `steps` frames, different per `salt` (codes in 0..<card, some -1 gaps).
    static func userCodes(config c: LMConfig, steps: Int, salt: UInt64) -> [Int32] {
        var rng = Xoshiro256StarStar(seed: 1000 + salt)
        return (0..<steps * c.userCodebooks).map { _ in
            let v = Int32(truncatingIfNeeded: rng.next() % UInt64(c.audioCard + 1))
            return v == Int32(c.audioCard) ? -1 : v
        }
    }

    static let sampling = LMSampling(textTemperature: 0.7, textTopK: 25, audioTemperature: 0.8, audioTopK: 50)

    /// One session stepped alone by `LMGenerator`.
    static func alone(_ fixture: LMFixture, codes: [Int32], steps: Int, seed: UInt64, threads: Int) throws -> [StepRecord] {
        let c = fixture.config
        let generator = LMGenerator(model: try fixture.model(threads: threads), sampling: sampling, seed: seed)
        let u = c.userCodebooks, q = c.generatedCodebooks
        return codes.withUnsafeBufferPointer { codes in
            (0..<steps).map { t in
                let produced = generator.step(userCodes: codes.baseAddress! + t * u, count: u)
                return StepRecord(chosen: Array(UnsafeBufferPointer(start: generator.chosen, count: 1 + q)), produced: produced,
                                  frame: produced ? Array(UnsafeBufferPointer(start: generator.frame, count: 1 + q)) : [],
                                  textLogits: Array(UnsafeBufferPointer(start: generator.model.textLogits.pointer, count: c.textCardOut)),
                                  audioLogits: Array(UnsafeBufferPointer(start: generator.audioLogits.pointer, count: q * c.audioCard)))
            }
        }
    }

    /// What `slot` of `batch` saw at its last step.
    static func record(_ batch: LMBatch, _ slot: Int) -> StepRecord {
        let c = batch.config, q = c.generatedCodebooks
        let s = batch.streams(slot)
        let produced = batch.produced(slot)
        return StepRecord(chosen: Array(UnsafeBufferPointer(start: s.chosen, count: 1 + q)), produced: produced,
                          frame: produced ? [s.frameTextToken] + (0..<q).map { s.frameAudioCode($0) } : [],
                          textLogits: Array(UnsafeBufferPointer(start: batch.textLogits(slot), count: c.textCardOut)),
                          audioLogits: Array(UnsafeBufferPointer(start: batch.audioLogits(slot), count: q * c.audioCard)))
    }

    /// Where two runs first differ, for the failure message.
    static func firstDifference(_ got: [StepRecord], _ want: [StepRecord]) -> String? {
        for (t, (g, w)) in zip(got, want).enumerated() where g != w {
            if g.chosen != w.chosen { return "step \(t): chose \(g.chosen), alone \(w.chosen)" }
            if g.frame != w.frame { return "step \(t): frame \(g.frame), alone \(w.frame)" }
            let text = zip(g.textLogits, w.textLogits).map { abs($0 - $1) }.max() ?? 0
            let audio = zip(g.audioLogits, w.audioLogits).map { abs($0 - $1) }.max() ?? 0
            return "step \(t): logits differ (text max |d| \(text), audio \(audio))"
        }
        return got.count == want.count ? nil : "\(got.count) steps, alone \(want.count)"
    }

    /// Three sessions, different inputs and seeds, stepped together for the fixture's length
    /// (the seed-0 config's 16-entry ring wraps three times), on one thread and on two.
    @Test(arguments: [(0, 1), (1, 2), (2, 1), (3, 2), (4, 1), (5, 2)])
    func threeSessionsMatchEachAlone(layout index: Int, threads: Int) throws {
        let (seed, file, prefix) = LMParityTests.layouts[index]
        let fixture = try LMFixture(seed: seed, weights: file, expectations: prefix)
        let c = fixture.config
        let steps = fixture.steps
        let seeds: [UInt64] = [7, 8, 9]
        let inputs = (0..<3).map { LMBatchTests.userCodes(config: c, steps: steps, salt: UInt64($0)) }
        let want = try (0..<3).map { try LMBatchTests.alone(fixture, codes: inputs[$0], steps: steps, seed: seeds[$0], threads: threads) }

        let batch = try LMBatch(weights: LMWeights(store: fixture.store, config: c), capacity: 4, threads: threads)
        let slots = seeds.map { batch.join(sampling: LMBatchTests.sampling, seed: $0)! }
        var got: [[StepRecord]] = [[], [], []]
        let u = c.userCodebooks
        for t in 0..<steps {
            for i in 0..<3 { inputs[i].withUnsafeBufferPointer { batch.submit(slots[i], userCodes: $0.baseAddress! + t * u, count: u) } }
            #expect(batch.step() == 3)
            for i in 0..<3 { got[i].append(LMBatchTests.record(batch, slots[i])) }
        }
        for i in 0..<3 {
            #expect(LMBatchTests.firstDifference(got[i], want[i]) == nil,
                    "\(file), session \(i): \(LMBatchTests.firstDifference(got[i], want[i]) ?? "")")
        }
        // The sessions really differ (a batch that mixed them up could not pass the check above,
        // but a test whose sessions were all the same could).
        #expect(got[0].map(\.chosen) != got[1].map(\.chosen))
    }

    /// Sessions join and leave at frame boundaries and skip frames without disturbing the
    /// others: A runs throughout; B joins at step 12 (position 0 next to A at 12); A skips
    /// step 20; B leaves at step 25 and C takes its slot at step 27, one step after A's cache
    /// has wrapped. Each session's records equal its run alone.
    @Test func joinLeaveAndSkipMatchAlone() throws {
        let fixture = try LMFixture(seed: 0, weights: "lm_seed0.safetensors")
        let c = fixture.config
        let u = c.userCodebooks
        let steps = fixture.steps
        let codes = (0..<3).map { LMBatchTests.userCodes(config: c, steps: steps, salt: 10 + UInt64($0)) }
        let batch = try LMBatch(weights: LMWeights(store: fixture.store, config: c), capacity: 2)
        var slotA = -1, slotB = -1, slotC = -1
        var frameOf = [0, 0, 0]
        var got: [[StepRecord]] = [[], [], []]
        for t in 0..<steps {
            if t == 0 { slotA = batch.join(sampling: LMBatchTests.sampling, seed: 1)! }
            if t == 12 { slotB = batch.join(sampling: LMBatchTests.sampling, seed: 2)!; #expect(batch.position(slotB) == 0) }
            if t == 25 { batch.leave(slotB) }
            if t == 27 {
                slotC = batch.join(sampling: LMBatchTests.sampling, seed: 3)!
                #expect(slotC == slotB, "C takes the slot B left")
                #expect(batch.join() == nil, "the batch is full")
            }
            var members: [(Int, Int)] = []   // (session, slot)
            if t != 20 { members.append((0, slotA)) }
            if t >= 12 && t < 25 { members.append((1, slotB)) }
            if t >= 27 { members.append((2, slotC)) }
            for (i, slot) in members {
                codes[i].withUnsafeBufferPointer { batch.submit(slot, userCodes: $0.baseAddress! + frameOf[i] * u, count: u) }
                frameOf[i] += 1
            }
            #expect(batch.step() == members.count)
            for (i, slot) in members { got[i].append(LMBatchTests.record(batch, slot)) }
        }
        #expect(batch.position(slotA) == steps - 1, "A skipped one step")
        for (i, seed) in [(0, UInt64(1)), (1, 2), (2, 3)] {
            let want = try LMBatchTests.alone(fixture, codes: codes[i], steps: frameOf[i], seed: seed, threads: 1)
            #expect(LMBatchTests.firstDifference(got[i], want) == nil, "session \(i): \(LMBatchTests.firstDifference(got[i], want) ?? "")")
        }
        #expect(got[1].count == 13 && got[2].count == steps - 27)
    }

    /// The generator's named accessors read the frame and chosen tokens the raw buffers hold.
    @Test func generatorNamedAccessors() throws {
        let fixture = try LMFixture(seed: 1, weights: "lm_seed1.safetensors")
        let c = fixture.config
        let generator = LMGenerator(model: try fixture.model(), sampling: .greedy)
        let codes = LMBatchTests.userCodes(config: c, steps: 3, salt: 0)
        var produced = false
        for t in 0..<3 { produced = codes.withUnsafeBufferPointer { generator.step(userCodes: $0.baseAddress! + t * c.userCodebooks, count: c.userCodebooks) } }
        #expect(produced)
        #expect(generator.frameTextToken == generator.frame[0])
        #expect((0..<c.generatedCodebooks).map { generator.frameAudioCode($0) } == Array(UnsafeBufferPointer(start: generator.frame + 1, count: c.generatedCodebooks)))
        #expect(generator.chosenTextToken == generator.chosen[0])
        #expect(generator.chosenAudioCode(c.generatedCodebooks - 1) == generator.chosen[c.generatedCodebooks])
    }
}
