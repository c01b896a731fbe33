import Foundation

/// The files of one Kyutai Moshi checkpoint, found in a directory: a `--model-dir`, or a snapshot
/// of a repo in the Hugging Face cache. Every Kyutai repo holds one LM weights file (its name says
/// the format), the Mimi codec weights, the SentencePiece text tokenizer and, in some repos, a
/// `config.json`.
package struct KyutaiModelFiles: Sendable, Equatable {
    /// LM weight file names, in the order they are preferred when a directory holds several:
    /// bf16 safetensors (PyTorch, candle and MLX repos), candle's GGUF Q8_0, the vision variant's
    /// GGUF, MLX 8-bit, MLX 4-bit. (`model.q8.safetensors` is also the name of the PyTorch
    /// bitsandbytes int8 file, which the weight loader tells apart by its tensors.)
    package static let languageModelFileNames = [
        "model.safetensors", "model.q8.gguf", "model.q8_0.gguf", "model.q8.safetensors", "model.q4.safetensors",
    ]
    /// The Mimi codec weights, the same file in every repo.
    package static let mimiFileName = "tokenizer-e351c8d8-checkpoint125.safetensors"
    /// The SentencePiece text tokenizer, the same file in every repo.
    package static let textTokenizerFileName = "tokenizer_spm_32k_3.model"
    /// The model configuration some repos carry.
    package static let configFileName = "config.json"

    /// The directory the files were found in.
    package let directory: String
    /// The LM weights (safetensors or GGUF).
    package let languageModel: String
    /// The Mimi codec weights.
    package let mimi: String
    /// The SentencePiece text tokenizer.
    package let textTokenizer: String
    /// `config.json`, when the directory has one.
    package let config: String?

    /// Finds the files in `directory`. `languageModelFile` picks the LM file by name (for a directory
    /// holding several formats); without it the first of `languageModelFileNames` present is used.
    /// A directory lacking files is an error listing what is missing and what was found.
    package init(directory: String, languageModelFile: String? = nil) throws(HubError) {
        guard HuggingFaceCache.isDirectory(directory) else {
            throw HubError(.missingFiles, "model directory \(directory) does not exist or is not a directory")
        }
        func existing(_ name: String) -> String? {
            let path = HuggingFaceCache.join(directory, name)
            return FileManager.default.fileExists(atPath: path) ? path : nil  // follows links: a dangling one is absent
        }
        let lmCandidates = languageModelFile.map { [$0] } ?? Self.languageModelFileNames
        let languageModel = lmCandidates.lazy.compactMap(existing).first
        let mimi = existing(Self.mimiFileName)
        let textTokenizer = existing(Self.textTokenizerFileName)

        guard let languageModel, let mimi, let textTokenizer else {
            var missing: [String] = []
            if languageModel == nil {
                missing.append(lmCandidates.count == 1
                    ? "LM weights (\(lmCandidates[0]))"
                    : "LM weights (one of \(lmCandidates.joined(separator: ", ")))")
            }
            if mimi == nil { missing.append("Mimi weights (\(Self.mimiFileName))") }
            if textTokenizer == nil { missing.append("text tokenizer (\(Self.textTokenizerFileName))") }
            let found = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
                .filter { !$0.hasPrefix(".") }.sorted()
            throw HubError(.missingFiles,
                "model directory \(directory) lacks \(missing.joined(separator: ", ")); it holds: "
                + (found.isEmpty ? "nothing" : found.joined(separator: ", ")))
        }
        self.directory = directory
        self.languageModel = languageModel
        self.mimi = mimi
        self.textTokenizer = textTokenizer
        self.config = existing(Self.configFileName)
    }
}
