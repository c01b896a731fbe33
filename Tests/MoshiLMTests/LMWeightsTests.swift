import Foundation
import MoshiNumerics
import Testing
import Weights
@testable import MoshiLM

@Suite struct LMWeightsTests {
    static func config1() throws -> LMConfig { try LMConfig(contentsOf: LMFixture.directory + "/lm_seed1_config.json") }

    @Test func layoutsAreRecognised() throws {
        let dir = LMFixture.directory
        #expect(try LMCheckpointLayout.detect(in: WeightFiles.open(path: dir + "/lm_seed0.safetensors")) == .pytorch)
        #expect(try LMCheckpointLayout.detect(in: WeightFiles.open(path: dir + "/lm_seed0_candle_bf16.safetensors")) == .candle)
        #expect(try LMCheckpointLayout.detect(in: WeightFiles.open(path: dir + "/lm_seed1_q8_0.gguf")) == .candle)
        #expect(try LMCheckpointLayout.detect(in: WeightFiles.open(path: dir + "/lm_seed1_mlx_q4.safetensors")) == .mlx)
    }

    /// A copy of config 1's PyTorch file with one tensor dropped or reshaped.
    static func damaged(drop: String? = nil, reshape: String? = nil) throws -> SafetensorsFile {
        let source = try SafetensorsFile(path: LMFixture.directory + "/lm_seed1.safetensors")
        var writer = SafetensorsWriter()
        for t in source.tensors where t.name != drop {
            var shape = t.shape
            if t.name == reshape { shape = [shape[0] / 2, shape[1] * 2] }
            writer.add(t.name, dtype: t.dtype, shape: shape, bytes: Array(t.bytes))
        }
        return try SafetensorsFile(source: InMemoryBytes(writer.serialized(), name: "damaged.safetensors"))
    }

    @Test func aMissingTensorIsNamed() throws {
        let store = try LMWeightsTests.damaged(drop: "depformer.layers.0.gating.2.linear_out.weight")
        do {
            _ = try LMWeights(store: store, config: LMWeightsTests.config1())
            Issue.record("loaded without the tensor")
        } catch {
            #expect("\(error)".contains("depformer.layers.0.gating.2.linear_out.weight"))
            #expect("\(error)".contains("damaged.safetensors"))
        }
    }

    @Test func aWrongShapeIsNamed() throws {
        let store = try LMWeightsTests.damaged(reshape: "transformer.layers.1.gating.linear_in.weight")
        do {
            _ = try LMWeights(store: store, config: LMWeightsTests.config1())
            Issue.record("loaded a wrong shape")
        } catch {
            #expect("\(error)".contains("transformer.layers.1.gating.linear_in.weight"))
            #expect("\(error)".contains("[128, 64]"))
        }
    }

    @Test func theWrongConfigForAFileIsRefused() throws {
        let store = try WeightFiles.open(path: LMFixture.directory + "/lm_seed1.safetensors")
        let other = try LMConfig(contentsOf: LMFixture.directory + "/lm_seed0_config.json")
        #expect(throws: WeightFileError.self) { try LMWeights(store: store, config: other) }
    }

    @Test(arguments: LMWeightFormat.allCases)
    func randomCheckpointsLoadAndRunInEveryFormat(format: LMWeightFormat) throws {
        let config = try LMWeightsTests.config1()
        let store = try LMRandomCheckpoint.make(config: config, format: format, seed: 7)
        let weights = try LMWeights(store: store, config: config)
        #expect(weights.layout == format.layout)
        let generator = LMGenerator(model: try LMModel(weights: weights), sampling: .referenceDefaults, seed: 3)
        let user: [Int32] = [5, 6, 7, 8]
        var frames = 0
        for _ in 0..<12 where user.withUnsafeBufferPointer({ generator.step(userCodes: $0.baseAddress!, count: 4) }) { frames += 1 }
        #expect(frames == 11)
        let logits = Array(generator.model.textLogits.buffer)
        #expect(logits.allSatisfy { $0.isFinite })
        #expect(Set(logits).count > 10, "logits vary")
        #expect(weights.bytesReadPerStep > 0 && weights.storedBytes >= weights.bytesReadPerStep / 2)
    }

    @Test func sixteenBitKVCachesStayCloseToF32() throws {
        let fixture = try LMFixture(seed: 0, weights: "lm_seed0.safetensors")
        let want = try fixture.floats("text_logits")
        let user = try fixture.ints("user_codes")
        let forcedText = try fixture.ints("forced_text")
        let forcedAudio = try fixture.ints("forced_audio")
        for precision in [KVCachePrecision.f16, .bf16] {
            let model = try LMModel(weights: LMWeights(store: fixture.store, config: fixture.config), cachePrecision: precision)
            let generator = LMGenerator(model: model, sampling: .greedy)
            var worst = 0.0
            let n = fixture.config.textCardOut
            for t in 0..<fixture.steps {
                user.withUnsafeBufferPointer { u in
                    forcedAudio.withUnsafeBufferPointer { a in
                        _ = generator.step(userCodes: u.baseAddress! + 8 * t, count: 8, forcedText: forcedText[t], forcedAudio: a.baseAddress! + 8 * t)
                    }
                }
                worst = max(worst, relativeL2(model.textLogits.pointer, want[t * n ..< (t + 1) * n]))
            }
            #expect(worst < (precision == .f16 ? 5e-3 : 3e-2), "\(precision): \(worst)")
            #expect(worst > 1e-7, "\(precision) cache must actually round")
        }
    }

    /// Heap bytes in use in this process, from glibc's `malloc_info` (its closing totals: the
    /// arenas' current size less their free fast and regular chunks, plus mmapped blocks).
    /// Unlike resident memory it goes down when other tests free what they allocated, so their
    /// churn is noise around zero rather than a growth that never comes back. -1 if unknown.
    static func heapBytesInUse() -> Int {
        typealias MallocInfo = @convention(c) (Int32, UnsafeMutablePointer<FILE>?) -> Int32
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "malloc_info") else { return -1 }
        var text: UnsafeMutablePointer<CChar>? = nil
        var length = 0
        guard let stream = open_memstream(&text, &length) else { return -1 }
        _ = unsafeBitCast(symbol, to: MallocInfo.self)(0, stream)
        fclose(stream)
        guard let text else { return -1 }
        defer { free(text) }
        let xml = String(cString: text)
        /// The `size` of the last element that starts with `tag` (the whole-process totals follow the per-arena ones).
        func lastSize(_ tag: String) -> Int? {
            guard let element = xml.range(of: tag, options: .backwards) else { return nil }
            let rest = xml[element.upperBound...]
            guard let open = rest.range(of: "size=\""), let close = rest[open.upperBound...].firstIndex(of: "\"") else { return nil }
            return Int(rest[open.upperBound..<close])
        }
        guard let current = lastSize("<system type=\"current\""), let fast = lastSize("<total type=\"fast\""),
              let free = lastSize("<total type=\"rest\""), let mapped = lastSize("<total type=\"mmap\"") else { return -1 }
        return current - fast - free + mapped
    }

    @Test func tenThousandStepsRunInConstantMemory() throws {
        let fixture = try LMFixture(seed: 1, weights: "lm_seed1.safetensors")
        let model = try fixture.model()
        let generator = LMGenerator(model: model, sampling: .referenceDefaults, seed: 11)
        var user: [Int32] = [1, 2, 3, 4]
        var rng = Xoshiro256StarStar(seed: 5)
        var frames = 0
        // The heap is per process and other tests run alongside, so a leak must show in every
        // window of 900 steps: the smallest growth of the ten windows is what counts.
        var windowStart = 0
        var smallestGrowth = Int.max
        for step in 0..<10_000 {
            for i in 0..<4 { user[i] = Int32(rng.next() % 64) }
            if user.withUnsafeBufferPointer({ generator.step(userCodes: $0.baseAddress!, count: 4) }) { frames += 1 }
            if step >= 1000 && (step - 1000) % 900 == 0 {
                let now = LMWeightsTests.heapBytesInUse()
                if step > 1000 { smallestGrowth = min(smallestGrowth, now - windowStart) }
                windowStart = now
            }
        }
        #expect(frames == 9_999)
        #expect(LMWeightsTests.heapBytesInUse() > 0, "malloc_info gave no totals")
        #expect(model.position == 10_000, "positions keep counting past the context")
        #expect(model.temporal.caches.allSatisfy { $0.capacity == fixture.config.context && $0.visibleSlots == fixture.config.context })
        #expect(smallestGrowth < 256 * 1024, "the heap grew by at least \(smallestGrowth) bytes in every 900 steps")
        #expect(Array(model.textLogits.buffer).allSatisfy { $0.isFinite })
    }
}

/// The generator's bookkeeping for delays other than Moshi's (the reference `LMGen` rule):
/// the frame returned at call n holds, for a stream of delay d, what call n - maxDelay + d chose.
@Suite struct LMGeneratorDelayTests {
    @Test func framesFollowTheReferenceRuleForAnyDelays() throws {
        var config = try LMConfig(contentsOf: LMFixture.directory + "/lm_seed1_config.json")
        config.delays = [1, 0, 2, 1, 0, 0, 2, 1, 1]          // text, 4 model codebooks, 4 user codebooks
        let weights = try LMWeights(store: LMRandomCheckpoint.make(config: config, format: .f32, seed: 9), config: config)
        let generator = LMGenerator(model: try LMModel(weights: weights), sampling: .greedy)
        let q = config.generatedCodebooks
        var chosen: [[Int32]] = []
        let user: [Int32] = [3, 4, 5, 6]
        for n in 0..<12 {
            let text = Int32(10 + n), audio = (0..<q).map { Int32(20 + 4 * n + $0) }
            let returned = user.withUnsafeBufferPointer { u in
                audio.withUnsafeBufferPointer { a in generator.step(userCodes: u.baseAddress!, count: 4, forcedText: text, forcedAudio: a.baseAddress!) }
            }
            chosen.append([text] + audio)
            #expect(returned == (n >= 2), "call \(n): the first maxDelay = 2 calls return nothing")
            if returned {
                let frame = Array(UnsafeBufferPointer(start: generator.frame, count: 1 + q))
                let want = (0...q).map { k in chosen[n - 2 + config.delays[k]][k] }
                #expect(frame == want, "call \(n)")
            }
            // What the temporal transformer read: initial tokens while a stream's delay runs,
            // then that stream's value from delay calls back (user streams: the codes given then).
            for k in 0...q {
                let got = generator.inputTokens[k]
                let initial = Int32(k == 0 ? config.textCard : config.audioCard)
                #expect(got == (n <= config.delays[k] ? initial : chosen[n - 1][k]), "call \(n), stream \(k)")
            }
        }
    }
}
