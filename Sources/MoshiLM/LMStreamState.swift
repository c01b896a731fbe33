import MoshiNumerics

/// One conversation's token bookkeeping around the language model, with the reference
/// `LMGen`'s delays: the ring of `maxDelay + 2` token columns per stream, the tokens the
/// temporal transformer reads, the tokens chosen this step, the returned frame, and the
/// sampling settings with their seeded RNG. No weights and no activations: `LMGenerator`
/// pairs one with an `LMModel`; `LMBatch` keeps one per session next to that session's caches.
///
/// A step is four phases: `beginStep` (the user's codes in, `inputTokens` out), `chooseText`
/// (from the text logits), `chooseAudio` once per codebook (from that codebook's logits), and
/// `finishStep` (the ring advances; true when `frame` holds a new frame).
/// Preallocated; the phases allocate nothing.
package final class LMStreamState: @unchecked Sendable {
    package let config: LMConfig
    package var sampling: LMSampling
    private var rng: Xoshiro256StarStar
    private let ringLength: Int
    private let streams: Int
    /// `[streams, ringLength]` tokens; -2 = not generated yet.
    private let ring: UnsafeMutablePointer<Int32>
    /// Calls so far.
    package private(set) var offset = 0
    /// The tokens the temporal transformer reads at this step (`[1 + n_q]`): text, then the audio streams.
    package let inputTokens: UnsafeMutablePointer<Int32>
    /// The tokens chosen at the last step: text, then `dep_q` audio codebooks.
    package let chosen: UnsafeMutablePointer<Int32>
    /// The frame the last step returned (when it returned one): text, then `dep_q` audio codes.
    package let frame: UnsafeMutablePointer<Int32>
    private let candidateValues: UnsafeMutablePointer<Float>
    private let candidateIndices: UnsafeMutablePointer<Int32>

    /// - Parameter seed: the sampling RNG's seed (xoshiro256**); irrelevant when greedy.
    package init(config: LMConfig, sampling: LMSampling = .referenceDefaults, seed: UInt64 = 0) {
        self.config = config
        self.sampling = sampling
        rng = Xoshiro256StarStar(seed: seed)
        streams = 1 + config.inputCodebooks
        ringLength = config.maxDelay + 2
        ring = .allocate(capacity: streams * ringLength)
        ring.initialize(repeating: -2, count: streams * ringLength)
        inputTokens = .allocate(capacity: streams)
        inputTokens.initialize(repeating: 0, count: streams)
        chosen = .allocate(capacity: 1 + config.generatedCodebooks)
        chosen.initialize(repeating: 0, count: 1 + config.generatedCodebooks)
        frame = .allocate(capacity: 1 + config.generatedCodebooks)
        frame.initialize(repeating: -1, count: 1 + config.generatedCodebooks)
        let candidates = max(config.textCardOut, config.audioCard)
        candidateValues = .allocate(capacity: candidates)
        candidateIndices = .allocate(capacity: candidates)
    }

    deinit {
        ring.deallocate()
        inputTokens.deallocate()
        chosen.deallocate()
        frame.deallocate()
        candidateValues.deallocate()
        candidateIndices.deallocate()
    }

    // MARK: named views of the last step

    /// The text token of the returned frame.
    package var frameTextToken: Int32 { frame[0] }
    /// Codebook `k` (0 = semantic) of the returned frame's audio.
    package func frameAudioCode(_ k: Int) -> Int32 { frame[1 + k] }
    /// The text token chosen at the last step (not yet delay-aligned).
    package var chosenTextToken: Int32 { chosen[0] }
    /// Codebook `k`'s token chosen at the last step (not yet delay-aligned).
    package func chosenAudioCode(_ k: Int) -> Int32 { chosen[1 + k] }

    // MARK: the phases of a step

    /// Puts the user's codes for this frame (`userCodes[0..<count]`, semantic first; codebooks
    /// beyond n_q - dep_q are ignored, missing ones count as absent) into the ring and fills
    /// `inputTokens` with what the temporal transformer reads at this step.
    package func beginStep(userCodes: UnsafePointer<Int32>, count: Int) {
        let c = config
        let q = c.generatedCodebooks
        let o = offset
        for u in 0..<c.userCodebooks {
            let stream = 1 + q + u
            ring[stream * ringLength + (o + c.delays[stream]) % ringLength] = u < count ? userCodes[u] : -1
        }
        for stream in 0..<streams {
            if o <= c.delays[stream] {
                inputTokens[stream] = Int32(stream == 0 ? c.textCard : c.audioCard)
            } else {
                inputTokens[stream] = ring[stream * ringLength + o % ringLength]
            }
        }
    }

    /// Chooses this step's text token from the text logits (`[textCardOut]`), or takes `forced`.
    @discardableResult
    package func chooseText(logits: UnsafePointer<Float>, forced: Int32? = nil) -> Int32 {
        let token = forced ?? Int32(sample(logits, count: config.textCardOut,
                                           temperature: sampling.textTemperature, topK: sampling.textTopK))
        chosen[0] = token
        return token
    }

    /// Chooses codebook `k`'s token from its logits (`[audioCard]`), or takes `forced`.
    @discardableResult
    package func chooseAudio(_ k: Int, logits: UnsafePointer<Float>, forced: Int32? = nil) -> Int32 {
        let token = forced ?? Int32(sample(logits, count: config.audioCard,
                                           temperature: sampling.audioTemperature, topK: sampling.audioTopK))
        chosen[1 + k] = token
        return token
    }

    /// Ends the step: the chosen tokens enter the ring. True when `frame` holds a new frame.
    package func finishStep() -> Bool {
        let c = config
        let q = c.generatedCodebooks
        offset += 1
        for stream in 0...q { ring[stream * ringLength + offset % ringLength] = chosen[stream] }
        guard offset > c.maxDelay else { return false }
        for stream in 0...q {
            frame[stream] = ring[stream * ringLength + (offset - c.maxDelay + c.delays[stream]) % ringLength]
        }
        return true
    }

    /// Back to the start of a conversation (the RNG continues).
    package func reset() {
        ring.update(repeating: -2, count: streams * ringLength)
        offset = 0
    }

    /// A new conversation with its own sampling and seed (a batch slot taken by a new session).
    package func restart(sampling: LMSampling, seed: UInt64) {
        reset()
        self.sampling = sampling
        rng = Xoshiro256StarStar(seed: seed)
    }

    private func sample(_ logits: UnsafePointer<Float>, count: Int, temperature: Float, topK: Int) -> Int {
        sampleToken(logits: logits, count: count, temperature: temperature, topK: topK, using: &rng,
                    candidateValues: candidateValues, candidateIndices: candidateIndices)
    }
}
