import Foundation
import Mimi
import Weights

/// One reference fixture written by `Tests/Fixtures/make_mimi_fixtures.py` (moshi 0.2.13):
/// the configuration JSON, the weight file and the streaming run's inputs and outputs.
struct MimiFixture {
    let name: String
    let config: MimiConfig
    let weightsPath: String
    let io: SafetensorsFile
    /// Frames in the run (34).
    let frames: Int

    /// The committed fixtures: `seed0`, `seed1`, and `seed0` with weight-norm pairs.
    static let committed = ["seed0", "seed1", "seed0_weightnorm"]

    static var directory: String {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
    }

    /// `mimi_<name>.safetensors` with `mimi_<seed>_config.json` and `mimi_<seed>_io.safetensors`
    /// from `directory` (the weight-norm variant shares seed 0's config and io).
    init(_ name: String, directory: String = MimiFixture.directory, prefix: String = "mimi_", codebooks: Int? = nil) throws {
        self.name = name
        let seed = name.replacingOccurrences(of: "_weightnorm", with: "")
        let json = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(prefix)\(seed)_config.json"))
        var config = try MimiFixture.config(fromReferenceJSON: json)
        if let codebooks { config.codebooks = codebooks }
        self.config = config
        weightsPath = "\(directory)/\(prefix)\(name).safetensors"
        io = try SafetensorsFile(path: "\(directory)/\(prefix)\(seed)_io.safetensors")
        frames = try io.require("codes").shape[1]
    }

    /// The configuration from the fixture script's JSON (its `seanet`, `transformer`,
    /// `quantizer` sections and `num_codebooks`).
    static func config(fromReferenceJSON data: Data) throws -> MimiConfig {
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let seanet = root["seanet"] as? [String: Any],
              let transformer = root["transformer"] as? [String: Any],
              let quantizer = root["quantizer"] as? [String: Any] else {
            throw FixtureError("config JSON lacks the seanet/transformer/quantizer sections")
        }
        func int(_ section: [String: Any], _ key: String) throws -> Int {
            guard let value = section[key] as? NSNumber else { throw FixtureError("config JSON: no integer \(key)") }
            return value.intValue
        }
        func double(_ section: [String: Any], _ key: String) throws -> Double {
            guard let value = section[key] as? NSNumber else { throw FixtureError("config JSON: no number \(key)") }
            return value.doubleValue
        }
        guard let ratios = seanet["ratios"] as? [NSNumber] else { throw FixtureError("config JSON: no ratios") }
        return MimiConfig(
            sampleRate: try int(root, "sample_rate"), frameRate: try double(root, "frame_rate"),
            channels: try int(seanet, "channels"), seanetDimension: try int(seanet, "dimension"),
            filters: try int(seanet, "n_filters"), ratios: ratios.map(\.intValue),
            kernelSize: try int(seanet, "kernel_size"), residualKernelSize: try int(seanet, "residual_kernel_size"),
            lastKernelSize: try int(seanet, "last_kernel_size"), compress: try int(seanet, "compress"),
            transformerLayers: try int(transformer, "num_layers"), transformerHeads: try int(transformer, "num_heads"),
            transformerFeedForward: try int(transformer, "dim_feedforward"),
            transformerContext: try int(transformer, "context"),
            layerScale: Float(try double(transformer, "layer_scale")),
            ropeMaxPeriod: Float(try double(transformer, "max_period")),
            layerNormEpsilon: Float(try double(transformer, "layer_norm_eps")),
            codebookDimension: try int(quantizer, "dimension"), codebookSize: try int(quantizer, "bins"),
            totalCodebooks: try int(quantizer, "n_q"), semanticCodebooks: try int(quantizer, "n_q_semantic"),
            codebooks: try int(root, "num_codebooks"),
            codebookEpsilon: Float(try double(quantizer, "codebook_epsilon")))
    }

    func weights() throws -> MimiWeights { try MimiWeights(path: weightsPath, config: config) }

    func floats(_ tensor: String) throws -> [Float] { try io.require(tensor).floats() }

    /// `codes[k, f]` of an `[n_q, frames]` i32 tensor, as frames: `result[f][k]`.
    func codeFrames(_ tensor: String = "codes") throws -> [[Int32]] {
        let t = try io.require(tensor)
        let values = try t.integers()
        let (rows, columns) = (t.shape[0], t.shape[1])
        return (0..<columns).map { f in (0..<rows).map { k in Int32(values[k * columns + f]) } }
    }

    /// The input audio zero-padded to whole frames, one array per frame.
    func inputFrames() throws -> [[Float]] {
        var audio = try floats("input")
        let frameSize = config.frameSize
        audio += [Float](repeating: 0, count: frames * frameSize - audio.count)
        return (0..<frames).map { Array(audio[($0 * frameSize)..<(($0 + 1) * frameSize)]) }
    }

    /// A channel-major `[dim, frames * steps]` reference intermediate, reordered as our
    /// time-major `[frames * steps, dim]`.
    func timeMajor(_ tensor: String) throws -> [Float] {
        let t = try io.require(tensor)
        let values = try t.floats()
        let (channels, steps) = (t.shape[0], t.shape[1])
        var out = [Float](repeating: 0, count: values.count)
        for c in 0..<channels {
            for s in 0..<steps { out[s * channels + c] = values[c * steps + s] }
        }
        return out
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `||a - b|| / ||b||` in double.
func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "relativeL2: \(a.count) vs \(b.count) values")
    var difference = 0.0
    var norm = 0.0
    for (x, y) in zip(a, b) {
        difference += (Double(x) - Double(y)) * (Double(x) - Double(y))
        norm += Double(y) * Double(y)
    }
    return (difference / max(norm, .leastNormalMagnitude)).squareRoot()
}
