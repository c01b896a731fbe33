import ArgumentParser
import Foundation
import MoshiLM
import MoshiNumerics
import Settings

/// Where the model comes from and how it runs: shared by `moshi lm generate`, `run`, `profile`,
/// `chat` and `serve`.
struct ModelOptions: ParsableArguments {
    @Flag(help: "Use the synthetic model: the real Mimi and a Moshi-structured LM with random weights from a fixed seed (no download; the audio it makes is noise, the timings are real).")
    var synthetic = false

    @Option(help: ArgumentHelp("Language-model weights: model.safetensors (PyTorch or candle bf16), model.q8.gguf, model.q8.safetensors or model.q4.safetensors (MLX).", valueName: "path"))
    var lm: String?

    @Option(name: .customLong("lm-config"), help: ArgumentHelp("Kyutai LM config JSON (configs/moshi_7b_202409.json or a repo's config.json); default: config.json next to the weights, else the Moshi 7B preset.", valueName: "path"))
    var lmConfig: String?

    @Option(help: ArgumentHelp("Mimi weights (tokenizer-e351c8d8-checkpoint125.safetensors).", valueName: "path"))
    var mimi: String?

    @Option(help: ArgumentHelp("Text tokenizer (tokenizer_spm_32k_3.model), to print the model's words.", valueName: "path"))
    var tokenizer: String?

    @Option(name: .customLong("model-dir"), help: ArgumentHelp("A folder with a Kyutai repo's files (model.model_dir).", valueName: "dir"))
    var modelDir: String?

    @Option(name: .customLong("hf-repo"), help: ArgumentHelp("A Hugging Face repo already in the local cache, e.g. kyutai/moshiko-pytorch-bf16 (model.hf_repo).", valueName: "org/name"))
    var hfRepo: String?

    @Option(help: ArgumentHelp("With --random: the LM preset (\(LMConfig.presets.map(\.name).joined(separator: ", "))).", valueName: "name"))
    var preset = "moshi-7b"

    @Flag(help: "Random LM weights in the preset's real shapes and --format (for timing; says so in the output).")
    var random = false

    @Option(help: ArgumentHelp("With --random: the stored format (\(LMWeightFormat.allCases.map(\.rawValue).joined(separator: ", "))).", valueName: "format"))
    var format = "bf16"

    @Option(help: "Compute threads for the language model (0: one per CPU; default runtime.threads).")
    var threads: Int?

    @Option(name: .customLong("kv-cache"), help: ArgumentHelp("KV cache precision: f32, f16 or bf16 (default model.kv_cache_precision).", valueName: "precision"))
    var kvCache: String?

    @Option(name: .customLong("matvec-precision"), help: ArgumentHelp("exact, or int8 (quantized weights with int8 activations: faster, slightly less exact; default runtime.matvec_precision).", valueName: "mode"))
    var matvecPrecision: String?

    @Option(help: "Sampling seed.")
    var seed: UInt64 = 42

    @Flag(help: "Greedy decoding (argmax) instead of sampling.")
    var greedy = false

    @Option(help: "Audio sampling temperature (reference default 0.8).")
    var temp: Float?

    @Option(name: .customLong("temp-text"), help: "Text sampling temperature (reference default 0.7).")
    var tempText: Float?

    @Option(name: .customLong("top-k"), help: "Audio top-k (reference default 250).")
    var topK: Int?

    @Option(name: .customLong("top-k-text"), help: "Text top-k (reference default 25).")
    var topKText: Int?

    func validate() throws {
        guard LMWeightFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be one of \(LMWeightFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard LMConfig.preset(named: preset) != nil else {
            throw ValidationError("--preset must be one of \(LMConfig.presets.map(\.name).joined(separator: ", "))")
        }
        if let kvCache, KVCachePrecision(rawValue: kvCache) == nil { throw ValidationError("--kv-cache must be f32, f16 or bf16") }
        if let matvecPrecision, MatvecPrecision(rawValue: matvecPrecision) == nil { throw ValidationError("--matvec-precision must be exact or int8") }
        if let threads, !(0...1024).contains(threads) { throw ValidationError("--threads must be 0...1024") }
        if let temp, !(temp >= 0 && temp <= 10) { throw ValidationError("--temp must be 0...10") }
        if let tempText, !(tempText >= 0 && tempText <= 10) { throw ValidationError("--temp-text must be 0...10") }
        if let topK, topK < 0 { throw ValidationError("--top-k must be >= 0") }
        if let topKText, topKText < 0 { throw ValidationError("--top-k-text must be >= 0") }
    }

    /// The sampling settings from the flags over `defaults`.
    func sampling(defaults: LMSampling = .referenceDefaults) -> LMSampling {
        if greedy { return .greedy }
        var s = defaults
        if let temp { s.audioTemperature = temp }
        if let tempText { s.textTemperature = tempText }
        if let topK { s.audioTopK = topK }
        if let topKText { s.textTopK = topKText }
        return s
    }

    var weightFormat: LMWeightFormat { LMWeightFormat(rawValue: format) ?? .bf16 }
    var cachePrecision: KVCachePrecision { kvCache.flatMap(KVCachePrecision.init(rawValue:)) ?? .f32 }
    var precision: MatvecPrecision { matvecPrecision.flatMap(MatvecPrecision.init(rawValue:)) ?? .exact }
    var threadCount: Int { (threads ?? 0) > 0 ? threads! : ThreadPool.availableCPUs }

    /// These options with what the command line left open taken from the settings
    /// (`runtime.threads`, `runtime.matvec_precision`, `model.kv_cache_precision`).
    func resolved(_ settings: Settings) -> ModelOptions {
        var options = self
        if options.threads == nil { options.threads = settings[SettingsCatalog.threads] }
        if options.matvecPrecision == nil { options.matvecPrecision = settings[SettingsCatalog.matvecPrecision] }
        if options.kvCache == nil { options.kvCache = settings[SettingsCatalog.kvCachePrecision] }
        return options
    }
}
