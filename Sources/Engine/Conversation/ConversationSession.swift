#if canImport(Glibc)
import Glibc
#endif
import Mimi
import MoshiLM

/// One conversation: a Mimi encoder for the user's voice, the language model's generator, and
/// a Mimi decoder for the model's voice, stepped once per 80 ms frame. 1920 samples in; 1920
/// samples out from the second frame on (the model's reply to frame n comes with frame n), and
/// the text token the model chose with it.
///
/// Weights are shared: many sessions may use one `LMWeights` and one `MimiWeights`, each with
/// its own state (KV caches, streaming convolution buffers). Allocation-free after `init`.
package final class ConversationSession: FrameProcessor, @unchecked Sendable {
    package let generator: LMGenerator
    package let encoder: MimiEncoder
    package let decoder: MimiDecoder
    /// The stages a conversation times, in the order `process` writes them (a batch of
    /// conversations times the same ones); metrics and reports name them so.
    package static let stages = ["mimi_encode", "temporal", "depformer", "mimi_decode"]
    package let stageNames = ConversationSession.stages
    private let userCodes: UnsafeMutablePointer<Int32>
    private let modelCodes: UnsafeMutablePointer<Int32>
    private let codebooks: Int
    /// Frames whose model codes the decoder refused (out-of-range codes); their output is silence.
    package private(set) var decodeErrors = 0

    /// - Parameters:
    ///   - mimi: the codec weights; it must use at least as many codebooks as the model reads and writes.
    package init(generator: LMGenerator, mimi: MimiWeights) throws(ConversationError) {
        try ConversationError.check(lm: generator.model.config, mimi: mimi.config)
        self.generator = generator
        // One pool per conversation: Mimi splits its products over the LM's threads.
        encoder = MimiEncoder(weights: mimi, pool: generator.model.pool)
        decoder = MimiDecoder(weights: mimi, pool: generator.model.pool)
        codebooks = mimi.config.codebooks
        userCodes = .allocate(capacity: codebooks)
        userCodes.initialize(repeating: 0, count: codebooks)
        modelCodes = .allocate(capacity: codebooks)
        modelCodes.initialize(repeating: 0, count: codebooks)
    }

    deinit {
        userCodes.deallocate()
        modelCodes.deallocate()
    }

    package func process(_ input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                        stageNanoseconds: UnsafeMutablePointer<UInt64>) -> FrameResult {
        let n = FrameTiming.samplesPerFrame
        let start = MonotonicClock.nanoseconds()
        encoder.step(UnsafeBufferPointer(start: input, count: n), codes: UnsafeMutableBufferPointer(start: userCodes, count: codebooks))
        let encoded = MonotonicClock.nanoseconds()
        stageNanoseconds[0] = encoded - start
        let produced = generator.step(userCodes: userCodes, count: codebooks)
        stageNanoseconds[1] = generator.temporalNanoseconds
        stageNanoseconds[2] = generator.depformerNanoseconds
        let stepped = MonotonicClock.nanoseconds()
        guard produced else {
            stageNanoseconds[3] = 0
            return FrameResult(producedAudio: false, textToken: nil)
        }
        let q = generator.model.config.generatedCodebooks
        for k in 0..<codebooks { modelCodes[k] = k < q ? generator.frameAudioCode(k) : 0 }
        do {
            try decoder.step(UnsafeBufferPointer(start: modelCodes, count: codebooks), samples: UnsafeMutableBufferPointer(start: output, count: n))
        } catch {
            decodeErrors += 1
            output.update(repeating: 0, count: n)
        }
        stageNanoseconds[3] = MonotonicClock.nanoseconds() - stepped
        return FrameResult(producedAudio: true, textToken: generator.frameTextToken)
    }

    package func reset() {
        encoder.reset()
        decoder.reset()
        generator.reset()
    }

}

/// Why a conversation cannot be set up.
package struct ConversationError: Error, CustomStringConvertible, Equatable {
    package let description: String
    package init(_ description: String) { self.description = description }

    /// Throws unless `mimi` can carry `lm`'s audio in the engine's frames: enough codebooks for
    /// what the model reads and writes, the model's audio card, 1920-sample frames.
    package static func check(lm config: LMConfig, mimi: MimiConfig) throws(ConversationError) {
        let needed = max(config.userCodebooks, config.generatedCodebooks)
        guard mimi.codebooks >= needed else {
            throw ConversationError("Mimi runs \(mimi.codebooks) codebooks but the language model needs \(needed)")
        }
        guard mimi.codebookSize == config.audioCard else {
            throw ConversationError("Mimi codebooks have \(mimi.codebookSize) entries but the language model's audio card is \(config.audioCard)")
        }
        guard mimi.frameSize == FrameTiming.samplesPerFrame else {
            throw ConversationError("Mimi frames are \(mimi.frameSize) samples; the engine runs \(FrameTiming.samplesPerFrame)")
        }
    }
}
