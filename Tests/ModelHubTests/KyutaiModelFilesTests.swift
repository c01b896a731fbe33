import Foundation
import Testing
@testable import ModelHub

/// Finding a checkpoint's files in a directory or in the cache.
@Suite struct KyutaiModelFilesTests {
    static func directory(with names: [String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("modeldir-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for name in names { try Data("x".utf8).write(to: URL(fileURLWithPath: path + "/" + name)) }
        return path
    }

    static let shared = [KyutaiModelFiles.mimiFileName, KyutaiModelFiles.textTokenizerFileName]

    @Test func findsEachPublishedLayout() throws {
        for lm in KyutaiModelFiles.languageModelFileNames {
            let dir = try Self.directory(with: Self.shared + [lm])
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let files = try KyutaiModelFiles(directory: dir)
            #expect(files.languageModel == dir + "/" + lm)
            #expect(files.mimi == dir + "/tokenizer-e351c8d8-checkpoint125.safetensors")
            #expect(files.textTokenizer == dir + "/tokenizer_spm_32k_3.model")
            #expect(files.config == nil)
        }
    }

    @Test func prefersBF16AndHonoursAnExplicitName() throws {
        let dir = try Self.directory(with: Self.shared + ["model.q4.safetensors", "model.safetensors", "config.json"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try KyutaiModelFiles(directory: dir).languageModel == dir + "/model.safetensors")
        #expect(try KyutaiModelFiles(directory: dir).config == dir + "/config.json")
        #expect(try KyutaiModelFiles(directory: dir, languageModelFile: "model.q4.safetensors").languageModel == dir + "/model.q4.safetensors")
        do {
            _ = try KyutaiModelFiles(directory: dir, languageModelFile: "model.q8.gguf")
            Issue.record("an absent LM file was accepted")
        } catch {
            #expect(error.message.contains("lacks LM weights (model.q8.gguf)"))
        }
    }

    @Test func missingFilesAreListedWithWhatWasFound() throws {
        let dir = try Self.directory(with: ["config.json", KyutaiModelFiles.textTokenizerFileName])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            _ = try KyutaiModelFiles(directory: dir)
            Issue.record("an incomplete directory was accepted")
        } catch {
            #expect(error.kind == .missingFiles)
            #expect(error.message == "model directory \(dir) lacks LM weights (one of model.safetensors, model.q8.gguf, model.q8_0.gguf, model.q8.safetensors, model.q4.safetensors), Mimi weights (tokenizer-e351c8d8-checkpoint125.safetensors); it holds: config.json, tokenizer_spm_32k_3.model")
        }
        #expect(throws: HubError.self) { try KyutaiModelFiles(directory: dir + "/absent") }
    }

    @Test func selectionPrefersNamedFilesThenTheModelDirectoryThenTheCache() throws {
        let dir = try Self.directory(with: Self.shared + ["model.q8.gguf", "config.json"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let root = try Self.directory(with: [])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = HuggingFaceCache(root: root)
        let all: Set<ModelFileSelection.Part> = [.languageModel, .mimi]
        func select(_ named: ModelFileSelection = ModelFileSelection(), needs: Set<ModelFileSelection.Part> = all,
                    dir: String?, repo: String? = "kyutai/moshiko-candle-q8", repoNamed: Bool = false) throws(HubError) -> ModelFileSelection {
            try ModelFileSelection.select(named: named, needs: needs, modelDirectory: dir, repo: repo, repoNamed: repoNamed, cache: cache)
        }

        let fromDir = try select(dir: dir, repo: "kyutai/x", repoNamed: true)
        #expect(fromDir.languageModel == dir + "/model.q8.gguf" && fromDir.mimi == dir + "/" + KyutaiModelFiles.mimiFileName)
        #expect(fromDir.textTokenizer == dir + "/" + KyutaiModelFiles.textTokenizerFileName && fromDir.config == dir + "/config.json")
        #expect(fromDir.directory == dir)
        // Named files win over the directory's.
        let named = try select(ModelFileSelection(languageModel: "/elsewhere/model.safetensors", config: "/elsewhere/c.json"), dir: dir)
        #expect(named.languageModel == "/elsewhere/model.safetensors" && named.config == "/elsewhere/c.json" && named.mimi == fromDir.mimi)
        // A directory lacking a needed part names it and what the directory holds.
        let partial = try Self.directory(with: ["model.q8.gguf"])
        defer { try? FileManager.default.removeItem(atPath: partial) }
        do {
            _ = try select(dir: partial)
            Issue.record("a model directory without Mimi was accepted")
        } catch {
            #expect(error.message == "model directory \(partial) lacks Mimi weights (\(KyutaiModelFiles.mimiFileName)); it holds: model.q8.gguf")
        }
        // ... unless that part is named.
        #expect(try select(ModelFileSelection(mimi: "/m.safetensors"), dir: partial).mimi == "/m.safetensors")
        // No directory and the default repo absent: nothing found, no error (the caller reports what it lacks).
        let nothing = try select(dir: nil)
        #expect(nothing.languageModel == nil && nothing.directory == nil)
        // A config next to a named LM file is found.
        #expect(try select(ModelFileSelection(languageModel: dir + "/model.q8.gguf"), dir: nil).config == dir + "/config.json")
        do {
            _ = try select(dir: nil, repoNamed: true)
            Issue.record("a named repo absent from the cache was found")
        } catch {
            #expect(error.kind == .notInCache)
            #expect(error.message.contains("run `moshi download kyutai/moshiko-candle-q8`"))
        }

        // An incomplete snapshot (refs/main) is skipped for a complete older one.
        let repo = try RepoID("kyutai/moshiko-candle-q8")
        let complete = cache.snapshotDirectory(repo, commit: "1111111111111111111111111111111111111111")
        let newer = cache.snapshotDirectory(repo, commit: "2222222222222222222222222222222222222222")
        for (snapshot, names) in [(complete, Self.shared + ["model.q8.gguf"]), (newer, ["model.q8.gguf"])] {
            try FileManager.default.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
            for name in names { try Data("x".utf8).write(to: URL(fileURLWithPath: snapshot + "/" + name)) }
        }
        try FileManager.default.createDirectory(atPath: cache.repoDirectory(repo) + "/refs", withIntermediateDirectories: true)
        try Data("2222222222222222222222222222222222222222".utf8).write(to: URL(fileURLWithPath: cache.refPath(repo)))
        #expect(try select(dir: "").directory == complete)
        // ... but when only the LM is needed (Mimi named), refs/main's snapshot serves.
        #expect(try select(ModelFileSelection(mimi: "/m.safetensors"), dir: nil).directory == newer)

        try FileManager.default.removeItem(atPath: complete)
        do {
            _ = try select(dir: nil)
            Issue.record("an incomplete snapshot was accepted")
        } catch {
            #expect(error.kind == .missingFiles)
            #expect(error.message.hasPrefix("kyutai/moshiko-candle-q8 is in the cache but incomplete: snapshot \(newer) lacks Mimi weights"))
        }
    }
}
