import Foundation
import MoshiNumerics
import Testing
import Weights
@testable import MoshiLM

/// The Swift model against the reference's recorded runs: teacher-forced activations and
/// logits within 1e-4 relative L2 per step, greedy tokens and frames identical.
@Suite struct LMParityTests {
    /// (seed, weight file, expectations prefix) of every committed layout.
    static let layouts: [(Int, String, String)] = [
        (0, "lm_seed0.safetensors", ""),
        (0, "lm_seed0_candle_bf16.safetensors", ""),
        (1, "lm_seed1.safetensors", ""),
        (1, "lm_seed1_q8_0.gguf", "gguf_q8_0"),
        (1, "lm_seed1_mlx_q8.safetensors", "mlx_q8"),
        (1, "lm_seed1_mlx_q4.safetensors", "mlx_q4"),
    ]

    @Test(arguments: 0..<6)
    func teacherForcedLogits(layout index: Int) throws {
        let (seed, file, prefix) = LMParityTests.layouts[index]
        let fixture = try LMFixture(seed: seed, weights: file, expectations: prefix)
        let c = fixture.config
        let generator = LMGenerator(model: try fixture.model(), sampling: .greedy)
        let user = try fixture.ints("user_codes")
        let forcedText = try fixture.ints("forced_text")
        let forcedAudio = try fixture.ints("forced_audio")
        let textLogits = try fixture.floats(fixture.expected("text_logits"))
        let audioLogits = try fixture.floats(fixture.expected("audio_logits"))
        let temporalTokens = try fixture.ints("forced_temporal_tokens")
        let returned = try fixture.ints("forced_returned")
        let frames = try fixture.ints("forced_frames")
        let lossless = prefix.isEmpty
        let temporalInput = lossless ? try fixture.floats("temporal_input") : []
        let temporalOut = lossless ? try fixture.floats("temporal_out") : []
        let u = c.userCodebooks, q = c.generatedCodebooks, streams = 1 + c.inputCodebooks
        var worstText = 0.0, worstAudio = 0.0, worstHidden = 0.0
        for t in 0..<fixture.steps {
            let got = user.withUnsafeBufferPointer { userCodes in
                forcedAudio.withUnsafeBufferPointer { audio in
                    generator.step(userCodes: userCodes.baseAddress! + t * u, count: u, forcedText: forcedText[t],
                                   forcedAudio: audio.baseAddress! + t * q)
                }
            }
            let tokens = Array(UnsafeBufferPointer(start: generator.inputTokens, count: streams))
            #expect(tokens == Array(temporalTokens[t * streams ..< (t + 1) * streams]), "step \(t): temporal input tokens")
            #expect(got == (returned[t] == 1), "step \(t): returned a frame")
            if got {
                let frame = Array(UnsafeBufferPointer(start: generator.frame, count: 1 + q))
                #expect(frame == Array(frames[t * (1 + q) ..< (t + 1) * (1 + q)]), "step \(t): frame")
            }
            if lossless {
                worstHidden = max(worstHidden, relativeL2(generator.model.temporalInput.pointer, temporalInput[t * c.dim ..< (t + 1) * c.dim]))
                worstHidden = max(worstHidden, relativeL2(generator.model.temporalOutput.pointer, temporalOut[t * c.dim ..< (t + 1) * c.dim]))
            }
            let n = c.textCardOut
            worstText = max(worstText, relativeL2(generator.model.textLogits.pointer, textLogits[t * n ..< (t + 1) * n]))
            let m = q * c.audioCard
            worstAudio = max(worstAudio, relativeL2(generator.audioLogits.pointer, audioLogits[t * m ..< (t + 1) * m]))
        }
        #expect(worstHidden <= 1e-4, "\(file): temporal input/output rel L2 \(worstHidden)")
        #expect(worstText <= 1e-4, "\(file): text logits rel L2 \(worstText)")
        #expect(worstAudio <= 1e-4, "\(file): audio logits rel L2 \(worstAudio)")
    }

    @Test(arguments: 0..<6)
    func greedyTokensAreIdentical(layout index: Int) throws {
        let (seed, file, prefix) = LMParityTests.layouts[index]
        let fixture = try LMFixture(seed: seed, weights: file, expectations: prefix)
        let c = fixture.config
        let generator = LMGenerator(model: try fixture.model(threads: index % 2 == 0 ? 1 : 2), sampling: .greedy)
        let user = try fixture.ints("user_codes")
        let sampledText = try fixture.ints(fixture.expected("greedy_sampled_text"))
        let sampledAudio = try fixture.ints(fixture.expected("greedy_sampled_audio"))
        let text = try fixture.ints(fixture.expected("greedy_text"))
        let audio = try fixture.ints(fixture.expected("greedy_audio"))
        let u = c.userCodebooks, q = c.generatedCodebooks
        var mismatches: [String] = []
        for t in 0..<fixture.steps {
            let got = user.withUnsafeBufferPointer { generator.step(userCodes: $0.baseAddress! + t * u, count: u) }
            let chosen = Array(UnsafeBufferPointer(start: generator.chosen, count: 1 + q))
            let want = [sampledText[t]] + Array(sampledAudio[t * q ..< (t + 1) * q])
            if chosen != want { mismatches.append("step \(t): chose \(chosen), reference \(want)") }
            if t == 0 { #expect(!got, "call 0 returns nothing") } else {
                let frame = Array(UnsafeBufferPointer(start: generator.frame, count: 1 + q))
                let wantFrame = [text[t]] + Array(audio[t * q ..< (t + 1) * q])
                if !got || frame != wantFrame { mismatches.append("step \(t): frame \(frame), reference \(wantFrame)") }
            }
        }
        #expect(mismatches.isEmpty, "\(file): \(mismatches.prefix(3).joined(separator: "; "))")
    }

    /// The MLX files against Kyutai's MLX model itself: `moshi_mlx` loaded each file (strict
    /// names and shapes) and replayed the same teacher-forced tokens in f32
    /// (`Tests/Fixtures/make_lm_fixtures_mlx.py`). Independent of our reading of the format.
    @Test(arguments: [(4, "mlx_q8"), (5, "mlx_q4")])
    func mlxLayoutsMatchMoshiMLX(layout index: Int, name: String) throws {
        let (seed, file, prefix) = LMParityTests.layouts[index]
        let fixture = try LMFixture(seed: seed, weights: file, expectations: prefix)
        let mlx = try SafetensorsFile(path: "\(LMFixture.directory)/lm_seed\(seed)_moshi_mlx.safetensors")
        let c = fixture.config
        let generator = LMGenerator(model: try fixture.model(), sampling: .greedy)
        let user = try fixture.ints("user_codes")
        let forcedText = try fixture.ints("forced_text")
        let forcedAudio = try fixture.ints("forced_audio")
        let n = c.textCardOut, m = c.generatedCodebooks * c.audioCard
        let textLogits = try mlx.floats("\(name).text_logits", shape: [fixture.steps, n])
        let audioLogits = try mlx.floats("\(name).audio_logits", shape: [fixture.steps, c.generatedCodebooks, c.audioCard])
        let u = c.userCodebooks, q = c.generatedCodebooks
        var worstText = 0.0, worstAudio = 0.0
        for t in 0..<fixture.steps {
            user.withUnsafeBufferPointer { userCodes in
                forcedAudio.withUnsafeBufferPointer { audio in
                    _ = generator.step(userCodes: userCodes.baseAddress! + t * u, count: u, forcedText: forcedText[t],
                                       forcedAudio: audio.baseAddress! + t * q)
                }
            }
            worstText = max(worstText, relativeL2(generator.model.textLogits.pointer, textLogits[t * n ..< (t + 1) * n]))
            worstAudio = max(worstAudio, relativeL2(generator.audioLogits.pointer, audioLogits[t * m ..< (t + 1) * m]))
        }
        #expect(worstText <= 1e-4, "\(file) vs moshi_mlx: text logits rel L2 \(worstText)")
        #expect(worstAudio <= 1e-4, "\(file) vs moshi_mlx: audio logits rel L2 \(worstAudio)")
    }
}
