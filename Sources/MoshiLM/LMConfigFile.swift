import Foundation
import Weights

/// A Kyutai LM config file read once: `configs/moshi_7b_202409.json`, or the `config.json` of a
/// repository, whose other keys say which files the repo holds, the sampling it was published
/// with and, for MLX repos, how its weights are quantized. Everything a loader needs from the
/// file, from one parse.
public struct LMConfigFile: Sendable {
    /// Where it came from (a path, or a name for text in memory), for messages.
    public let source: String
    /// The model's sizes.
    public let config: LMConfig
    /// `lm_gen_config`: the sampling the repo recommends, if it says.
    public let generationDefaults: LMSampling?
    /// Keys neither read nor known to be irrelevant (a loader warns about them).
    public let unknownKeys: [String]
    /// `quantization` / `quantization_config` of an MLX repo, if present.
    public let mlxQuantization: MLXQuantization?

    /// Reads JSON text; `source` names it in errors.
    public init(json data: Data, source: String) throws(LMConfigError) {
        let root = try LMConfig.parseObject(data, source: source)
        self.source = source
        config = try LMConfig(config: root, source: source)
        generationDefaults = LMConfig.generationDefaults(config: root)
        unknownKeys = LMConfig.unknownKeys(config: root)
        do { mlxQuantization = try MLXQuantization.fromConfig(root, file: source) } catch {
            throw LMConfigError(error.description)
        }
    }

    /// Reads the file at `path`.
    public init(contentsOf path: String) throws(LMConfigError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw LMConfigError("cannot read LM config \(path)") }
        try self.init(json: data, source: path)
    }
}
