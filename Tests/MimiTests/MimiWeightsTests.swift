import Mimi
import Testing
import Weights

@Suite("Mimi weight loading")
struct MimiWeightsTests {
    /// The seed-0 weights re-serialised with `edit` applied to the tensor list.
    func rewritten(_ edit: (inout [(name: String, shape: [Int], values: [Float])]) -> Void) throws -> SafetensorsFile {
        let fixture = try MimiFixture("seed0")
        let file = try SafetensorsFile(path: fixture.weightsPath)
        var tensors = try file.tensors.map { (name: $0.name, shape: $0.shape, values: try $0.floats()) }
        edit(&tensors)
        var writer = SafetensorsWriter()
        for t in tensors { writer.add(t.name, shape: t.shape, floats: t.values) }
        return try SafetensorsFile(source: InMemoryBytes(writer.serialized(), name: "edited.safetensors"))
    }

    func loadError(_ store: SafetensorsFile) throws -> MimiError? {
        let config = try MimiFixture("seed0").config
        do {
            _ = try MimiWeights(store: store, config: config)
            return nil
        } catch {
            return error
        }
    }

    @Test("a missing tensor is reported by name", arguments: [
        "encoder.model.7.block.1.conv.conv.weight",
        "decoder_transformer.transformer.layers.1.linear2.weight",
        "quantizer.rvq_rest.vq.layers.10._codebook.cluster_usage",
        "upsample.convtr.convtr.convtr.weight",
    ])
    func missingTensor(name: String) throws {
        let error = try loadError(try rewritten { $0.removeAll { $0.name == name } })
        #expect(error?.tensor == name, "\(String(describing: error))")
        if case .weights(let inner)? = error { #expect(inner.kind == .missingTensor) } else { Issue.record("no weights error") }
    }

    @Test("a tensor of the wrong shape is reported by name with both shapes")
    func wrongShape() throws {
        let name = "encoder_transformer.transformer.layers.0.self_attn.in_proj_weight"
        let store = try rewritten { tensors in
            let i = tensors.firstIndex { $0.name == name }!
            tensors[i].shape = [tensors[i].shape[1], tensors[i].shape[0]]
        }
        let error = try loadError(store)
        #expect(error?.tensor == name)
        #expect(error?.description.contains("expected shape") == true, "\(String(describing: error))")
    }

    @Test("a weight-norm pair with a wrongly shaped g is reported by name")
    func wrongWeightNormShape() throws {
        let fixture = try MimiFixture("seed0_weightnorm")
        let file = try SafetensorsFile(path: fixture.weightsPath)
        let name = "decoder.model.5.convtr.convtr.weight_g"
        var writer = SafetensorsWriter()
        for t in file.tensors {
            // g of a transposed conv is [in, 1, 1]; store it as [out, 1, 1] (PyTorch's conv convention).
            let shape = t.name == name ? [t.shape[0] / 2, 1, 1] : t.shape
            let values = try t.floats()
            writer.add(t.name, shape: shape, floats: Array(values.prefix(shape.reduce(1, *))))
        }
        let store = try SafetensorsFile(source: InMemoryBytes(writer.serialized(), name: "edited.safetensors"))
        #expect(try loadError(store)?.tensor == name)
    }

    @Test("more codebooks than the file holds is a configuration error")
    func tooManyCodebooks() throws {
        var config = try MimiFixture("seed0").config
        config.codebooks = config.totalCodebooks + 1
        #expect(throws: MimiError.self) { _ = try MimiWeights(path: try MimiFixture("seed0").weightsPath, config: config) }
    }

    @Test("a file that is not safetensors is a weights error naming the file")
    func notSafetensors() throws {
        let path = MimiFixture.directory + "/README.md"
        let config = try MimiFixture("seed0").config
        do {
            _ = try MimiWeights(path: path, config: config)
            Issue.record("README.md loaded as weights")
        } catch {
            #expect(error.description.contains("README.md"), "\(error)")
        }
    }

    @Test("the official preset validates and has the published geometry")
    func officialPreset() throws {
        let config = MimiConfig.official
        try config.validate()
        #expect(config.frameSize == 1920)
        #expect(config.hopLength == 960)
        #expect(config.stepsPerFrame == 2)
        #expect(config.headDimension == 64)
        #expect(config.seanetMaxChannels == 1024)
        #expect(MimiConfig.official(codebooks: 32).codebooks == 32)
    }
}

@Suite("Mimi checkpoint layout")
struct MimiCheckpointLayoutTests {
    @Test("the layout lists exactly the fixture file's tensors and shapes", arguments: ["seed0", "seed1"])
    func layoutMatchesFile(name: String) throws {
        let fixture = try MimiFixture(name)
        let file = try SafetensorsFile(path: fixture.weightsPath)
        let layout = MimiCheckpointLayout.tensors(for: fixture.config)
        let expected = Dictionary(uniqueKeysWithValues: layout.map { ($0.name, $0.shape) })
        let stored = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.shape) })
        #expect(layout.count == 138)
        #expect(expected == stored)
    }

    @Test("the official layout has the published checkpoint's parameter count (96,151,393)")
    func officialParameterCount() {
        let layout = MimiCheckpointLayout.tensors(for: .official)
        #expect(layout.reduce(0) { $0 + $1.shape.reduce(1, *) } == 96_151_393)
    }

    @Test("random weights of a small layout load and stream (finite audio, codes in range)")
    func randomCheckpointRuns() throws {
        let config = try MimiFixture("seed1").config
        let weights = try MimiWeights(store: try MimiRandomCheckpoint.make(config: config, seed: 7), config: config)
        let encoder = MimiEncoder(weights: weights)
        let decoder = MimiDecoder(weights: weights)
        let frames = try MimiFixture("seed1").inputFrames()
        for frame in frames.prefix(4) {
            let codes = encoder.step(frame)
            #expect(codes.allSatisfy { $0 >= 0 && Int($0) < config.codebookSize })
            let audio = try decoder.step(codes)
            #expect(audio.allSatisfy { $0.isFinite })
        }
    }
}
