// TEMPORARY SEAM, to be replaced by the model loader in Sources/MoshiCLI/ModelLoading/: it
// declares `ModelOptions` and `makeConversation` with the shapes `moshi profile` and `moshi chat`
// are written against, and a placeholder processor (one frame of delay plus fixed busy work)
// so that both commands run end to end before the real synthetic Mimi + LM model exists.
// Delete this file when ModelLoading provides the same two declarations.
import ArgumentParser
import Engine
import Foundation

/// Which model a command runs: real weights (`--model-dir`, `--hf-repo`, `--lm` ...), random
/// weights of a preset (`--preset moshi-7b --random`), or the synthetic model (`--synthetic`,
/// the default of `moshi profile`).
struct ModelOptions: ParsableArguments {
    @Flag(help: "Synthetic weights from a fixed seed (no download; the audio is noise, the timings are real).")
    var synthetic = false

    @Option(help: ArgumentHelp("Language model weights (safetensors, GGUF or MLX).", valueName: "file"))
    var lm: String?

    @Option(help: ArgumentHelp("Mimi codec weights (tokenizer-e351c8d8-checkpoint125.safetensors).", valueName: "file"))
    var mimi: String?

    @Option(name: .customLong("lm-config"), help: ArgumentHelp("The language model's config.json.", valueName: "file"))
    var lmConfig: String?

    @Option(help: ArgumentHelp("SentencePiece text tokenizer (tokenizer_spm_32k_3.model).", valueName: "file"))
    var tokenizer: String?

    @Option(name: .customLong("model-dir"), help: ArgumentHelp("A directory with a Kyutai repository's files.", valueName: "dir"))
    var modelDir: String?

    @Option(name: .customLong("hf-repo"), help: ArgumentHelp("A Hugging Face repository in the local cache (kyutai/moshiko-pytorch-bf16).", valueName: "repo"))
    var hfRepo: String?

    @Option(help: ArgumentHelp("Model preset (moshi-7b, ...).", valueName: "name"))
    var preset: String?

    @Flag(help: "Random weights of the preset's shapes (for timing).")
    var random = false

    @Option(help: ArgumentHelp("Weight format for --random (bf16, q8_0, mlx_q4, ...).", valueName: "format"))
    var format: String?

    @Option(help: ArgumentHelp("Compute threads.", valueName: "n"))
    var threads: Int?

    @Option(help: "Random seed for synthetic weights and sampling.")
    var seed: UInt64 = 0

    @Flag(help: "Greedy decoding instead of sampling.")
    var greedy = false
}

/// Loads what `options` select. PLACEHOLDER: only the synthetic choice (and the default) work,
/// with `PlaceholderConversation`; the model loader replaces this function.
func makeConversation(_ options: ModelOptions, progress: (String) -> Void)
    throws -> (processor: FrameProcessor, describe: String, textDecoder: TextTokenDecoder?) {
    let wantsWeights = options.lm != nil || options.mimi != nil || options.modelDir != nil || options.hfRepo != nil
        || options.preset != nil || options.random || options.lmConfig != nil || options.tokenizer != nil
    guard !wantsWeights else {
        throw ValidationError("loading model weights is not in this build yet; run with --synthetic (or no model options)")
    }
    progress("placeholder model: one frame of delay plus fixed busy work")
    let processor = PlaceholderConversation()
    return (processor,
            "placeholder model (synthetic): plays your audio back one frame late after fixed busy work; the timings are of the engine, not of Mimi + LM",
            ClosureTextDecoder { PlaceholderConversation.vocabulary[Int($0) % PlaceholderConversation.vocabulary.count] })
}

/// A stand-in for the conversation: one frame of delay (nothing for the first frame, like the
/// model's acoustic delay), a fixed amount of arithmetic split into the four stages the real
/// one reports, and a word every 4 frames.
final class PlaceholderConversation: FrameProcessor {
    static let vocabulary = ["hello ", "this ", "is ", "a ", "placeholder ", "model. "]
    private let previous = UnsafeMutablePointer<Float>.allocate(capacity: FrameTiming.samplesPerFrame)
    private var hasPrevious = false
    private var frames = 0
    private var sink: Float = 0

    init() { previous.initialize(repeating: 0, count: FrameTiming.samplesPerFrame) }
    deinit { previous.deallocate() }

    var stageNames: [String] { ["mimi_encode", "temporal", "depformer", "mimi_decode"] }

    func process(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                 stageNanoseconds: UnsafeMutablePointer<UInt64>) -> FrameResult {
        for (stage, rounds) in [(0, 40), (1, 120), (2, 60), (3, 40)] {
            let start = MonotonicClock.nanoseconds()
            var accumulator: Float = 0
            for _ in 0..<rounds {
                // The offset keeps the accumulator away from denormals on silent input (slow on x86).
                for i in 0..<FrameTiming.samplesPerFrame { accumulator = accumulator * 0.999 + (input[i] + 1) * 0.5 }
            }
            sink += accumulator
            stageNanoseconds[stage] = MonotonicClock.nanoseconds() - start
        }
        let produced = hasPrevious
        if produced { output.update(from: previous, count: FrameTiming.samplesPerFrame) }
        previous.update(from: input, count: FrameTiming.samplesPerFrame)
        hasPrevious = true
        let token: Int32? = frames % 4 == 3 ? Int32(frames / 4) : nil
        frames += 1
        return FrameResult(producedAudio: produced, textToken: token)
    }

    func reset() {
        hasPrevious = false
        frames = 0
        previous.update(repeating: 0, count: FrameTiming.samplesPerFrame)
    }
}
