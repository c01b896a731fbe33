import Foundation
import Logging
import Engine
import Mimi
import ModelHub
import MoshiLM
import MoshiNumerics
import Settings
import Weights

/// Why a model cannot be loaded: a message for the user (names the file, tensor or option).
struct ModelLoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A language model ready to step, and what it came from.
struct LoadedLM {
    let weights: LMWeights
    let sampling: LMSampling
    /// "model.q4.safetensors (mlx layout, mlx_q4_g32 + bf16)", or "random mlx_q4 weights ...".
    let source: String
    let synthetic: Bool
}

/// Finds and loads the model files named by `ModelOptions` and the settings: explicit paths
/// first, then `--model-dir` / `model.model_dir`, then the Hugging Face cache for
/// `--hf-repo` / `model.hf_repo`.
struct ModelLoader {
    static let lmFileNames = KyutaiModelFiles.languageModelFileNames
    static let mimiFileName = KyutaiModelFiles.mimiFileName
    static let tokenizerFileName = KyutaiModelFiles.textTokenizerFileName

    let options: ModelOptions
    let settings: Settings
    let logger = Logger(label: "moshi.model")

    /// The folder holding the repo's files, if any was named or found in the cache.
    func modelDirectory() throws -> String? {
        if let dir = options.modelDir ?? nonEmpty(settings[SettingsCatalog.modelDirectory]) {
            guard FileManager.default.fileExists(atPath: dir) else { throw ModelLoadError("model directory \(dir) does not exist") }
            return dir
        }
        let name = options.hfRepo ?? settings[SettingsCatalog.hfRepo]
        let cache = HuggingFaceCache(environment: ProcessInfo.processInfo.environment)
        let repo: RepoID
        do { repo = try RepoID(name) } catch { throw ModelLoadError("--hf-repo: \(error)") }
        let snapshot = cache.snapshotDirectories(for: repo).first
        if snapshot == nil, options.hfRepo != nil {
            throw ModelLoadError("\(name) is not in the Hugging Face cache (\(cache.root)); run `moshi download \(name)` or pass --model-dir")
        }
        return snapshot
    }

    private func nonEmpty(_ s: String) -> String? { s.isEmpty ? nil : s }

    private func find(_ names: [String], in dir: String?) -> String? {
        guard let dir else { return nil }
        return names.map { (dir as NSString).appendingPathComponent($0) }.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// The language model: synthetic, random (`--random`), or from files.
    func loadLM(pool: ThreadPool?) throws -> LoadedLM {
        if options.synthetic {
            let config = LMConfig.synthetic
            return LoadedLM(weights: try SyntheticModel.languageModel(pool: pool), sampling: options.sampling(),
                            source: "synthetic LM (random bf16 weights, fixed seed; dim \(config.dim), \(config.layers) layers)", synthetic: true)
        }
        if options.random {
            let config = LMConfig.preset(named: options.preset) ?? .moshi7B
            logger.info("generating random \(options.format) weights for \(options.preset) ...")
            let store = try LMRandomCheckpoint.make(config: config, format: options.weightFormat, seed: 1, pool: pool)
            return LoadedLM(weights: try LMWeights(store: store, config: config), sampling: options.sampling(),
                            source: "random \(options.format) weights in \(options.preset)'s shapes (timings are real, outputs mean nothing)", synthetic: true)
        }
        let dir = try modelDirectory()
        guard let path = options.lm ?? find(ModelLoader.lmFileNames, in: dir) else {
            throw ModelLoadError("""
                no language-model weights: pass --lm FILE, --model-dir DIR, --hf-repo ORG/NAME (after `moshi download`), \
                or --synthetic to try without weights (looked for \(ModelLoader.lmFileNames.joined(separator: ", "))\(dir.map { " in \($0)" } ?? ""))
                """)
        }
        let configPath = options.lmConfig ?? find(["config.json"], in: dir ?? (path as NSString).deletingLastPathComponent)
        var config = LMConfig.moshi7B
        var sampling = options.sampling()
        var mlx: MLXQuantization? = nil
        if let configPath {
            guard let data = FileManager.default.contents(atPath: configPath) else { throw ModelLoadError("cannot read \(configPath)") }
            config = try LMConfig(json: data, source: configPath)
            if let defaults = LMConfig.generationDefaults(json: data) { sampling = options.sampling(defaults: defaults) }
            let unknown = LMConfig.unknownKeys(json: data)
            if !unknown.isEmpty { logger.warning("\(configPath): ignoring keys \(unknown.joined(separator: ", "))") }
            mlx = try MLXQuantization.fromConfig(path: configPath)
        }
        logger.info("mapping \(path) ...")
        let store = try WeightFiles.open(path: path, mlxQuantization: mlx)
        let weights = try LMWeights(store: store, config: config)
        return LoadedLM(weights: weights, sampling: sampling, source: "\((path as NSString).lastPathComponent) (\(weights.layout) layout, \(weights.formatSummary))", synthetic: false)
    }

    /// The Mimi weights with `codebooks` codebooks in use (synthetic: random weights of the official shapes).
    func loadMimi(codebooks: Int = 8) throws -> (weights: MimiWeights, source: String) {
        let config = MimiConfig.official(codebooks: codebooks)
        if options.synthetic || (options.random && options.mimi == nil) {
            return (try SyntheticModel.mimi(codebooks: codebooks), "synthetic Mimi (random weights, official shapes)")
        }
        let dir = try modelDirectory()
        guard let path = options.mimi ?? find([ModelLoader.mimiFileName], in: dir) else {
            throw ModelLoadError("no Mimi weights: pass --mimi FILE (\(ModelLoader.mimiFileName)) or --model-dir DIR")
        }
        do {
            return (try MimiWeights(path: path, config: config), (path as NSString).lastPathComponent)
        } catch {
            throw ModelLoadError(error.description)
        }
    }

    /// The text tokenizer, when given or found next to the model.
    func loadTokenizer() throws -> SentencePieceModel? {
        if options.synthetic { return nil }
        let dir = options.random ? nil : try modelDirectory()
        guard let path = options.tokenizer ?? find([ModelLoader.tokenizerFileName], in: dir) else { return nil }
        do { return try SentencePieceModel(path: path) } catch { throw ModelLoadError(error.description) }
    }
}
