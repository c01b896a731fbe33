import Foundation

/// The files one run uses, each either named by the user or found in a model directory (a
/// `--model-dir`, or a snapshot of a repo in the Hugging Face cache). `nil`: neither named nor
/// found. This is the only place that decides where a model's files come from.
package struct ModelFileSelection: Sendable, Equatable {
    /// The parts a run can need; the text tokenizer and `config.json` are always optional.
    package enum Part: Sendable, Hashable, CaseIterable { case languageModel, mimi }

    package var languageModel: String?
    package var mimi: String?
    package var textTokenizer: String?
    /// The LM config: named, else the directory's `config.json`, else one next to a named LM file.
    package var config: String?
    /// The directory the found files came from; nil when none was used.
    package var directory: String?

    package init(languageModel: String? = nil, mimi: String? = nil, textTokenizer: String? = nil, config: String? = nil) {
        self.languageModel = languageModel
        self.mimi = mimi
        self.textTokenizer = textTokenizer
        self.config = config
    }

    /// What `named` leaves open, filled in from `modelDirectory` when given (it must exist and hold
    /// every needed part `named` lacks), else from the newest snapshot of `repo` in `cache` that
    /// holds them (the one `refs/main` names first). A repo the user named (`repoNamed`) must be in
    /// the cache; the configured default repo is used only if it is there. Needed parts that no
    /// directory supplied stay nil for the caller to report in its own words.
    /// - Parameter languageModelFile: the LM file name to look for (default: the first of
    ///   `KyutaiModelFiles.languageModelFileNames` present).
    package static func select(
        named: ModelFileSelection, needs: Set<Part>, modelDirectory: String?, repo: String?, repoNamed: Bool,
        cache: HuggingFaceCache, languageModelFile: String? = nil
    ) throws(HubError) -> ModelFileSelection {
        let lmNames = languageModelFile.map { [$0] } ?? KyutaiModelFiles.languageModelFileNames
        var missing = needs
        if named.languageModel != nil { missing.remove(.languageModel) }
        if named.mimi != nil { missing.remove(.mimi) }

        var directory: String?
        if let modelDirectory, !modelDirectory.isEmpty {
            guard HuggingFaceCache.isDirectory(modelDirectory) else {
                throw HubError(.missingFiles, "model directory \(modelDirectory) does not exist or is not a directory")
            }
            let lacking = missing.filter { !has($0, in: modelDirectory, lmNames: lmNames) }
            guard lacking.isEmpty else {
                throw HubError(.missingFiles, "model directory \(modelDirectory) lacks \(describe(lacking, lmNames: lmNames)); it holds: \(listing(modelDirectory))")
            }
            directory = modelDirectory
        } else if let repo, !repo.isEmpty {
            let id = try RepoID(repo)
            let snapshots = cache.snapshotDirectories(for: id)
            if snapshots.isEmpty {
                if repoNamed {
                    throw HubError(.notInCache,
                        "\(id) is not in the Hugging Face cache (\(cache.root)); run `moshi download \(id)` "
                        + "or pass --model-dir with a directory holding its files")
                }
            } else if let complete = snapshots.first(where: { snapshot in missing.allSatisfy { has($0, in: snapshot, lmNames: lmNames) } }) {
                directory = complete
            } else {
                let lacking = missing.filter { !has($0, in: snapshots[0], lmNames: lmNames) }
                throw HubError(.missingFiles,
                    "\(id) is in the cache but incomplete: snapshot \(snapshots[0]) lacks \(describe(lacking, lmNames: lmNames)); run `moshi download \(id)` to finish it")
            }
        }

        var selection = named
        selection.directory = directory
        if let directory {
            if selection.languageModel == nil { selection.languageModel = lmNames.lazy.compactMap { existing($0, in: directory) }.first }
            if selection.mimi == nil { selection.mimi = existing(KyutaiModelFiles.mimiFileName, in: directory) }
            if selection.textTokenizer == nil { selection.textTokenizer = existing(KyutaiModelFiles.textTokenizerFileName, in: directory) }
        }
        if selection.config == nil {
            let home = directory ?? named.languageModel.map { ($0 as NSString).deletingLastPathComponent }
            selection.config = home.flatMap { existing(KyutaiModelFiles.configFileName, in: $0.isEmpty ? "." : $0) }
        }
        return selection
    }

    private static func existing(_ name: String, in directory: String) -> String? {
        let path = HuggingFaceCache.join(directory, name)
        return FileManager.default.fileExists(atPath: path) ? path : nil  // follows links: a dangling one is absent
    }

    private static func has(_ part: Part, in directory: String, lmNames: [String]) -> Bool {
        switch part {
        case .languageModel: lmNames.contains { existing($0, in: directory) != nil }
        case .mimi: existing(KyutaiModelFiles.mimiFileName, in: directory) != nil
        }
    }

    private static func describe(_ parts: Set<Part>, lmNames: [String]) -> String {
        Part.allCases.filter(parts.contains).map { part in
            switch part {
            case .languageModel: lmNames.count == 1 ? "LM weights (\(lmNames[0]))" : "LM weights (one of \(lmNames.joined(separator: ", ")))"
            case .mimi: "Mimi weights (\(KyutaiModelFiles.mimiFileName))"
            }
        }.joined(separator: ", ")
    }

    private static func listing(_ directory: String) -> String {
        let found = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        let shown = found.prefix(20).joined(separator: ", ")
        return found.isEmpty ? "nothing" : found.count > 20 ? shown + " and \(found.count - 20) more" : shown
    }
}
