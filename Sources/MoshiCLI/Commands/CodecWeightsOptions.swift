import ArgumentParser
import Foundation
import Mimi
import ModelHub
import Settings

/// The options every `moshi codec` command shares: where the Mimi weights are, and the
/// settings (config file, log level) that say where to look when `--mimi` is not given.
struct CodecWeightsOptions: ParsableArguments {
    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Mimi weights (tokenizer-e351c8d8-checkpoint125.safetensors). Default: model.model_dir, then the Hugging Face cache for model.hf_repo.", valueName: "path"))
    var mimi: String?

    /// The weights file: `--mimi`, or the first existing candidate (see `MimiWeightsLocation`).
    func weightsPath(settings: Settings) throws -> String {
        if let mimi { return mimi }
        let location = MimiWeightsLocation(
            modelDirectory: settings[SettingsCatalog.modelDirectory], repo: settings[SettingsCatalog.hfRepo],
            environment: ProcessInfo.processInfo.environment)
        if let found = location.existing { return found }
        throw CodecError("""
            no Mimi weights given (--mimi) or found; looked for \(MimiWeightsLocation.fileName) in:
            \(location.candidates.map { "  " + $0 }.joined(separator: "\n"))
            Download it from https://huggingface.co/\(settings[SettingsCatalog.hfRepo]) or pass --mimi PATH.
            """)
    }

    /// Loads the weights with `codebooks` codebooks in use; errors name the file and tensor.
    func load(codebooks: Int) throws -> MimiWeights {
        let settings = try global.loadSettings()
        let path = try weightsPath(settings: settings)
        do {
            return try MimiWeights(path: path, config: .official(codebooks: codebooks))
        } catch {
            throw CodecError(error.description)
        }
    }
}

/// Where a user who downloaded Kyutai's files has the Mimi checkpoint: `model.model_dir`
/// (when set), else every snapshot of `model.hf_repo` in the Hugging Face hub cache
/// (`HuggingFaceCache`: `$HF_HUB_CACHE`, `$HF_HOME/hub`, `$XDG_CACHE_HOME/huggingface/hub`,
/// `~/.cache/huggingface/hub`; `refs/main`'s snapshot first).
struct MimiWeightsLocation {
    static let fileName = KyutaiModelFiles.mimiFileName

    /// Paths tried, in order (snapshot directories listed when the repo is in the cache).
    let candidates: [String]

    init(modelDirectory: String, repo: String, environment: [String: String]) {
        if !modelDirectory.isEmpty {
            candidates = [(modelDirectory as NSString).appendingPathComponent(Self.fileName)]
            return
        }
        let cache = HuggingFaceCache(environment: environment)
        guard let id = try? RepoID(repo) else {
            candidates = [(cache.root as NSString).appendingPathComponent("models--?/snapshots/*/" + Self.fileName)]
            return
        }
        let snapshots = cache.snapshotDirectories(for: id)
        candidates = snapshots.isEmpty
            ? [(cache.repoDirectory(id) as NSString).appendingPathComponent("snapshots/*/" + Self.fileName)]
            : snapshots.map { ($0 as NSString).appendingPathComponent(Self.fileName) }
    }

    /// The first candidate that exists.
    var existing: String? { candidates.first { FileManager.default.fileExists(atPath: $0) } }
}

/// `--sample-format` for written WAV files.
enum CodecSampleFormat: String, ExpressibleByArgument, CaseIterable {
    case s16, f32
}
