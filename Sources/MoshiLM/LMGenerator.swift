#if canImport(Glibc)
import Glibc
#endif
import MoshiNumerics

/// The streaming generator, with the reference `LMGen`'s delay semantics: one call per user
/// frame. Each stream (text, the model's codebooks, the user's codebooks) has a delay in
/// steps; a ring of `maxDelay + 2` token columns aligns them. The first `maxDelay` calls return
/// nothing; then each call returns the stream values chosen `maxDelay - delay` calls earlier, so
/// that for Moshi (delays 0 and 1) call n >= 1 returns the model's frame aligned with user frame
/// n: the text and undelayed codebooks chosen at call n-1 with the delayed codebooks chosen at
/// call n. So T user frames give T-1 frames.
///
/// The bookkeeping lives in `streams` (`LMStreamState`); this class steps one `LMModel` with it.
/// Preallocated; `step` allocates nothing.
package final class LMGenerator: @unchecked Sendable {
    package let model: LMModel
    /// The delay ring, sampling and chosen tokens of this conversation.
    package let streams: LMStreamState
    package var sampling: LMSampling {
        get { streams.sampling }
        set { streams.sampling = newValue }
    }
    /// Calls so far.
    package var offset: Int { streams.offset }
    /// The tokens the temporal transformer read at the last call (`[1 + n_q]`), for tests.
    package var inputTokens: UnsafeMutablePointer<Int32> { streams.inputTokens }
    /// The depformer's logits at the last call (`[dep_q, card]`).
    package let audioLogits: FloatBuffer
    /// The tokens chosen at the last call: text, then `dep_q` audio codebooks (raw, for tests;
    /// `chosenTextToken` and `chosenAudioCode(_:)` name them).
    package var chosen: UnsafeMutablePointer<Int32> { streams.chosen }
    /// The frame the last call returned (raw, for tests; `frameTextToken` and `frameAudioCode(_:)` name it).
    package var frame: UnsafeMutablePointer<Int32> { streams.frame }
    /// Nanoseconds the last call spent in the temporal transformer (text head and sampling
    /// included) and in the depformer.
    package private(set) var temporalNanoseconds: UInt64 = 0
    package private(set) var depformerNanoseconds: UInt64 = 0

    /// - Parameter seed: the sampling RNG's seed (xoshiro256**); irrelevant when greedy.
    package init(model: LMModel, sampling: LMSampling = .referenceDefaults, seed: UInt64 = 0) {
        self.model = model
        streams = LMStreamState(config: model.config, sampling: sampling, seed: seed)
        audioLogits = FloatBuffer(count: model.config.generatedCodebooks * model.config.audioCard)
    }

    /// Codebooks of user audio a call reads.
    package var userCodebooks: Int { model.config.userCodebooks }

    /// The text token of the frame the last call returned.
    package var frameTextToken: Int32 { streams.frameTextToken }
    /// Codebook `k` (0 = semantic) of the audio of the frame the last call returned.
    package func frameAudioCode(_ k: Int) -> Int32 { streams.frameAudioCode(k) }
    /// The text token chosen at the last call (before delay alignment).
    package var chosenTextToken: Int32 { streams.chosenTextToken }
    /// Codebook `k`'s token chosen at the last call (before delay alignment).
    package func chosenAudioCode(_ k: Int) -> Int32 { streams.chosenAudioCode(k) }

    /// One step with the user's codes for this frame (`userCodes[0..<count]`, semantic first;
    /// codebooks beyond n_q - dep_q are ignored, missing ones count as absent). Returns true when
    /// `frame` holds a new output frame.
    ///
    /// `forcedText` and `forcedAudio` (`[dep_q]`) replace what this call would sample (teacher
    /// forcing, for tests and scoring); logits are still computed.
    @discardableResult
    package func step(userCodes: UnsafePointer<Int32>, count: Int, forcedText: Int32? = nil,
                     forcedAudio: UnsafePointer<Int32>? = nil) -> Bool {
        let c = model.config
        streams.beginStep(userCodes: userCodes, count: count)
        let start = MonotonicTime.nanoseconds()
        model.stepTemporal(tokens: streams.inputTokens)
        var previous = streams.chooseText(logits: model.textLogits.pointer, forced: forcedText)
        let middle = MonotonicTime.nanoseconds()
        for k in 0..<c.generatedCodebooks {
            let logits = audioLogits.pointer + k * c.audioCard
            model.stepDepformer(position: k, previousToken: previous, into: logits)
            previous = streams.chooseAudio(k, logits: logits, forced: forcedAudio?[k])
        }
        let end = MonotonicTime.nanoseconds()
        temporalNanoseconds = middle - start
        depformerNanoseconds = end - middle
        return streams.finishStep()
    }

    /// Back to the start of a conversation (the RNG continues).
    package func reset() {
        model.reset()
        streams.reset()
    }

}
