import Mimi
import MoshiLM
import MoshiNumerics

/// One conversation of a `BatchScheduler`: its Mimi encoder and decoder, its slot in the
/// scheduler's `LMBatch`, and the frame in and the reply out. `submit(frame:)` before a tick;
/// after it, `reply` and `output` (1920 samples, valid until the next tick) hold the answer.
package final class BatchedConversation: @unchecked Sendable {
    package let slot: Int
    let encoder: MimiEncoder
    let decoder: MimiDecoder
    private let codebooks: Int
    let input: UnsafeMutablePointer<Float>
    /// The model's audio for the last frame stepped (silence until the model answers).
    package let output: UnsafeMutablePointer<Float>
    let userCodes: UnsafeMutablePointer<Int32>
    let modelCodes: UnsafeMutablePointer<Int32>
    /// A frame waits for the next tick.
    package private(set) var pending = false
    /// What the last tick produced for this conversation.
    package private(set) var reply = FrameResult(producedAudio: false, textToken: nil)
    /// Frames whose model codes the decoder refused; their output is silence.
    package private(set) var decodeErrors = 0

    init(slot: Int, mimi: MimiWeights, pool: ThreadPool?) {
        self.slot = slot
        encoder = MimiEncoder(weights: mimi, pool: pool)
        decoder = MimiDecoder(weights: mimi, pool: pool)
        codebooks = mimi.config.codebooks
        let n = FrameTiming.samplesPerFrame
        input = .allocate(capacity: n)
        input.initialize(repeating: 0, count: n)
        output = .allocate(capacity: n)
        output.initialize(repeating: 0, count: n)
        userCodes = .allocate(capacity: codebooks)
        userCodes.initialize(repeating: 0, count: codebooks)
        modelCodes = .allocate(capacity: codebooks)
        modelCodes.initialize(repeating: 0, count: codebooks)
    }

    deinit {
        input.deallocate()
        output.deallocate()
        userCodes.deallocate()
        modelCodes.deallocate()
    }

    /// Queues one 80 ms frame (1920 samples at 24 kHz) of the user's audio for the next tick.
    package func submit(frame: UnsafePointer<Float>) {
        precondition(!pending, "BatchedConversation.submit: a frame already waits for the tick")
        input.update(from: frame, count: FrameTiming.samplesPerFrame)
        pending = true
    }

    /// Starts the user's stream again in Mimi's encoder (conv histories, transformer cache),
    /// leaving the language model's state as it is: what Kyutai's server does after the first
    /// frame of a conversation (`InputEncoderResetting`).
    package func resetInputEncoder() {
        precondition(!pending, "BatchedConversation.resetInputEncoder: a frame waits for the tick")
        encoder.reset()
    }

    /// Hands the encoded codes to the language model for the next step.
    func submitCodes(to lm: LMBatch) {
        lm.submit(slot, userCodes: userCodes, count: codebooks)
    }

    /// After the LM step: whether the model's codes are to be decoded into `output` (then
    /// `finishDecode` follows). When the model made no audio yet, or its codes are refused
    /// (counted in `decodeErrors`, the output is silence), the reply is set here.
    func prepareDecode(from lm: LMBatch) -> Bool {
        pending = false
        guard lm.produced(slot) else {
            reply = FrameResult(producedAudio: false, textToken: nil)
            return false
        }
        let streams = lm.streams(slot)
        let q = lm.config.generatedCodebooks
        for k in 0..<codebooks { modelCodes[k] = k < q ? streams.frameAudioCode(k) : 0 }
        guard decoder.isValid(UnsafeBufferPointer(start: modelCodes, count: codebooks)) else {
            decodeErrors += 1
            output.update(repeating: 0, count: FrameTiming.samplesPerFrame)
            reply = FrameResult(producedAudio: true, textToken: streams.frameTextToken)
            return false
        }
        return true
    }

    /// After `output` holds the decoded frame.
    func finishDecode(from lm: LMBatch) {
        reply = FrameResult(producedAudio: true, textToken: lm.streams(slot).frameTextToken)
    }
}
