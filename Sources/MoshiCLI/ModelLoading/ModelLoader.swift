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

/// Loads the model files `ModelOptions` and the settings name. Where each file comes from is
/// decided once, by ModelHub (`ModelFileSelection.select`): explicit paths first, then
/// `--model-dir` / `model.model_dir`, then the Hugging Face cache for `--hf-repo` /
/// `model.hf_repo`. Commands that run a whole conversation go through `LoadedModel`.
struct ModelLoader {
    let options: ModelOptions
    let settings: Settings
    let logger = Logger(label: "moshi.model")

    /// The parts a run of these options needs from files (none for synthetic weights; Mimi only
    /// when named for random ones).
    var neededParts: Set<ModelFileSelection.Part> {
        if options.synthetic { return [] }
        if options.random { return [] }
        return [.languageModel, .mimi]
    }

    /// Where each file comes from. With synthetic or random weights only explicitly named files are used.
    func selectFiles(needs: Set<ModelFileSelection.Part>) throws -> ModelFileSelection {
        let named = ModelFileSelection(languageModel: options.lm, mimi: options.mimi, textTokenizer: options.tokenizer, config: options.lmConfig)
        if options.synthetic || options.random { return named }
        let directory = options.modelDir ?? settings[SettingsCatalog.modelDirectory]
        do {
            return try ModelFileSelection.select(
                named: named, needs: needs, modelDirectory: directory, repo: options.hfRepo ?? settings[SettingsCatalog.hfRepo],
                repoNamed: options.hfRepo != nil, cache: HuggingFaceCache(environment: ProcessInfo.processInfo.environment))
        } catch where error.kind == .missingFiles {
            throw ModelLoadError(error.message + "; or name the files (--lm FILE, --mimi FILE), or try --synthetic")
        } catch {
            throw ModelLoadError(error.message)
        }
    }

    /// The language model: synthetic, random (`--random`), or from `files`.
    func loadLM(files: ModelFileSelection, pool: ThreadPool?) throws -> LoadedLM {
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
        guard let path = files.languageModel else {
            throw ModelLoadError("""
                no language-model weights: pass --lm FILE, --model-dir DIR, --hf-repo ORG/NAME (after `moshi download`), \
                or --synthetic to try without weights (looked for \(KyutaiModelFiles.languageModelFileNames.joined(separator: ", "))\(files.directory.map { " in \($0)" } ?? ""))
                """)
        }
        var config = LMConfig.moshi7B
        var sampling = options.sampling()
        var mlx: MLXQuantization? = nil
        if let configPath = files.config {
            let file = try LMConfigFile(contentsOf: configPath)
            config = file.config
            if let defaults = file.generationDefaults { sampling = options.sampling(defaults: defaults) }
            if !file.unknownKeys.isEmpty { logger.warning("\(configPath): ignoring keys \(file.unknownKeys.joined(separator: ", "))") }
            mlx = file.mlxQuantization
        }
        logger.info("mapping \(path) ...")
        let store = try WeightFiles.open(path: path, mlxQuantization: mlx)
        let weights = try LMWeights(store: store, config: config)
        return LoadedLM(weights: weights, sampling: sampling, source: "\((path as NSString).lastPathComponent) (\(weights.layout) layout, \(weights.formatSummary))", synthetic: false)
    }

    /// The language model alone (`moshi bench lm`, `moshi lm generate`).
    func loadLM(pool: ThreadPool?) throws -> LoadedLM {
        try loadLM(files: selectFiles(needs: neededParts.intersection([.languageModel])), pool: pool)
    }

    /// The Mimi weights with `codebooks` codebooks in use (synthetic: random weights of the official shapes).
    func loadMimi(files: ModelFileSelection, codebooks: Int = 8) throws -> (weights: MimiWeights, source: String) {
        let config = MimiConfig.official(codebooks: codebooks)
        if options.synthetic || (options.random && options.mimi == nil) {
            return (try SyntheticModel.mimi(codebooks: codebooks), "synthetic Mimi (random weights, official shapes)")
        }
        guard let path = files.mimi else {
            throw ModelLoadError("no Mimi weights: pass --mimi FILE (\(KyutaiModelFiles.mimiFileName)) or --model-dir DIR")
        }
        do {
            return (try MimiWeights(path: path, config: config), (path as NSString).lastPathComponent)
        } catch {
            throw ModelLoadError(error.description)
        }
    }

    /// The text tokenizer, when named or found next to the model.
    func loadTokenizer(files: ModelFileSelection) throws -> SentencePieceModel? {
        if options.synthetic { return nil }
        guard let path = files.textTokenizer else { return nil }
        do { return try SentencePieceModel(path: path) } catch { throw ModelLoadError(error.description) }
    }
}
