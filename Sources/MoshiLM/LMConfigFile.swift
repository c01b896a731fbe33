import Foundation
import Weights

/// A Kyutai LM config file read once: `configs/moshi_7b_202409.json`, or the `config.json` of a
/// repository, whose other keys say which files the repo holds, the sampling it was published
/// with and, for MLX repos, how its weights are quantized. Everything a loader needs from the
/// file, from one parse.
package struct LMConfigFile: Sendable {
    /// Where it came from (a path, or a name for text in memory), for messages.
    package let source: String
    /// The model's sizes.
    package let config: LMConfig
    /// `lm_gen_config`: the sampling the repo recommends, if it says.
    package let generationDefaults: LMSampling?
    /// Keys neither read nor known to be irrelevant (a loader warns about them).
    package let unknownKeys: [String]
    /// `quantization` / `quantization_config` of an MLX repo, if present.
    package let mlxQuantization: MLXQuantization?

    /// Reads JSON text; `source` names it in errors.
    package init(json data: Data, source: String) throws(LMConfigError) {
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
    package init(contentsOf path: String) throws(LMConfigError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw LMConfigError("cannot read LM config \(path)") }
        try self.init(json: data, source: path)
    }
}
