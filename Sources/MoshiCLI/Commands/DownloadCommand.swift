import ArgumentParser
import Foundation
import ModelHub
import Settings

/// `moshi download [REPO]`: fetches a Kyutai repo's files into the Hugging Face hub cache (the
/// layout `huggingface-cli` uses), resuming partial files and checking every checksum, then
/// prints where the files are. Without network it fails at once with one line saying so.
struct DownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a Kyutai model repo from Hugging Face into the local cache.",
        discussion: """
        Files go to the Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub, \
        or --cache-dir), where `moshi` and `huggingface-cli` both find them. Files already there are skipped; \
        an interrupted download resumes where it stopped. Every file is checked against the checksum the hub \
        announces. Examples:
          moshi download kyutai/moshiko-mlx-q4
          moshi download kyutai/moshiko-candle-q8 --include 'model.q8.gguf' --include 'tokenizer*'
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("Hugging Face repo id, e.g. kyutai/moshiko-pytorch-bf16 (default: model.hf_repo).", valueName: "repo"))
    var repo: String?

    @Option(name: .long, parsing: .singleValue,
            help: ArgumentHelp("Only files matching this pattern (shell glob on the path, e.g. 'model.q4*'); repeatable.", valueName: "glob"))
    var include: [String] = []

    @Option(help: ArgumentHelp("Hub cache directory (default: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub).", valueName: "dir"))
    var cacheDir: String?

    @Option(help: ArgumentHelp("Branch, tag or commit to download.", valueName: "rev"))
    var revision = "main"

    @Option(help: ArgumentHelp("Hub URL (default: $HF_ENDPOINT, else https://huggingface.co).", valueName: "url"))
    var endpoint: String?

    @Option(help: ArgumentHelp("Seconds without any data before a request fails.", valueName: "seconds"))
    var timeout: Double = 30

    func validate() throws {
        guard timeout > 0, timeout.isFinite else { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    func run() throws {
        let settings = try global.loadSettings()
        var environment = ProcessInfo.processInfo.environment
        if let endpoint { environment["HF_ENDPOINT"] = endpoint }
        let id = try RepoID(repo ?? settings[SettingsCatalog.hfRepo])
        let downloader = try HubDownloader(environment: environment, cacheRoot: cacheDir, timeout: timeout)
        let result = try downloader.download(id, revision: revision, include: include.map(FilePattern.init),
                                             progress: .standardError())
        print(Self.summary(of: result))
    }

    /// Where the files are, and how to use them.
    static func summary(of result: HubDownloader.Result) -> String {
        var lines = ["\(result.repo) at \(result.commit): \(result.files.count) file(s), "
            + "\(DownloadProgress.formatBytes(result.downloadedBytes)) downloaded, in", "  \(result.snapshotDirectory)"]
        lines += result.files.map { "    \($0)" }
        do {
            _ = try KyutaiModelFiles(directory: result.snapshotDirectory)
            lines.append("Use it with --hf-repo \(result.repo) or --model-dir \(result.snapshotDirectory)")
        } catch {
            lines.append("Not a complete Moshi model yet: \(error.message)")
        }
        return lines.joined(separator: "\n")
    }
}
