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
/// Preallocated; `step` allocates nothing.
public final class LMGenerator: @unchecked Sendable {
    public let model: LMModel
    public var sampling: LMSampling
    private var rng: Xoshiro256StarStar
    private let config: LMConfig
    private let ringLength: Int
    /// `[streams, ringLength]` tokens; -2 = not generated yet.
    private let ring: UnsafeMutablePointer<Int32>
    private let streams: Int
    /// Calls so far.
    public private(set) var offset = 0
    /// The tokens the temporal transformer read at the last call (`[1 + n_q]`).
    public let inputTokens: UnsafeMutablePointer<Int32>
    /// The depformer's logits at the last call (`[dep_q, card]`).
    public let audioLogits: FloatBuffer
    /// The tokens chosen at the last call: text, then `dep_q` audio codebooks.
    public let chosen: UnsafeMutablePointer<Int32>
    /// The frame the last call returned (when it returned one): text, then `dep_q` audio codes.
    public let frame: UnsafeMutablePointer<Int32>
    /// Nanoseconds the last call spent in the temporal transformer (text head and sampling
    /// included) and in the depformer.
    public private(set) var temporalNanoseconds: UInt64 = 0
    public private(set) var depformerNanoseconds: UInt64 = 0
    private let candidateValues: UnsafeMutablePointer<Float>
    private let candidateIndices: UnsafeMutablePointer<Int32>
    private let candidates: Int

    /// - Parameter seed: the sampling RNG's seed (xoshiro256**); irrelevant when greedy.
    public init(model: LMModel, sampling: LMSampling = .referenceDefaults, seed: UInt64 = 0) {
        self.model = model
        self.sampling = sampling
        rng = Xoshiro256StarStar(seed: seed)
        config = model.config
        streams = 1 + config.inputCodebooks
        ringLength = config.maxDelay + 2
        ring = .allocate(capacity: streams * ringLength)
        ring.initialize(repeating: -2, count: streams * ringLength)
        inputTokens = .allocate(capacity: streams)
        inputTokens.initialize(repeating: 0, count: streams)
        audioLogits = FloatBuffer(count: config.generatedCodebooks * config.audioCard)
        chosen = .allocate(capacity: 1 + config.generatedCodebooks)
        chosen.initialize(repeating: 0, count: 1 + config.generatedCodebooks)
        frame = .allocate(capacity: 1 + config.generatedCodebooks)
        frame.initialize(repeating: -1, count: 1 + config.generatedCodebooks)
        candidates = max(config.textCardOut, config.audioCard)
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

    /// Codebooks of user audio a call reads.
    public var userCodebooks: Int { config.userCodebooks }

    /// One step with the user's codes for this frame (`userCodes[0..<count]`, semantic first;
    /// codebooks beyond n_q - dep_q are ignored, missing ones count as absent). Returns true when
    /// `frame` holds a new output frame.
    ///
    /// `forcedText` and `forcedAudio` (`[dep_q]`) replace what this call would sample (teacher
    /// forcing, for tests and scoring); logits are still computed.
    @discardableResult
    public func step(userCodes: UnsafePointer<Int32>, count: Int, forcedText: Int32? = nil,
                     forcedAudio: UnsafePointer<Int32>? = nil) -> Bool {
        let c = config
        let q = c.generatedCodebooks
        let o = offset
        // The user's codes enter the ring at their delayed columns.
        for u in 0..<c.userCodebooks {
            let stream = 1 + q + u
            ring[stream * ringLength + (o + c.delays[stream]) % ringLength] = u < count ? userCodes[u] : -1
        }
        // What the temporal transformer reads: this column, initial tokens while a stream's delay runs.
        for stream in 0..<streams {
            if o <= c.delays[stream] {
                inputTokens[stream] = Int32(stream == 0 ? c.textCard : c.audioCard)
            } else {
                inputTokens[stream] = ring[stream * ringLength + o % ringLength]
            }
        }
        let start = MonotonicTime.nanoseconds()
        model.stepTemporal(tokens: inputTokens)
        let text = forcedText ?? Int32(sample(model.textLogits.pointer, count: c.textCardOut,
                                              temperature: sampling.textTemperature, topK: sampling.textTopK))
        chosen[0] = text
        let middle = MonotonicTime.nanoseconds()
        var previous = text
        for k in 0..<q {
            let logits = audioLogits.pointer + k * c.audioCard
            model.stepDepformer(position: k, previousToken: previous, into: logits)
            let token = forcedAudio?[k] ?? Int32(sample(logits, count: c.audioCard,
                                                         temperature: sampling.audioTemperature, topK: sampling.audioTopK))
            chosen[1 + k] = token
            previous = token
        }
        let end = MonotonicTime.nanoseconds()
        temporalNanoseconds = middle - start
        depformerNanoseconds = end - middle

        offset = o + 1
        for stream in 0...q { ring[stream * ringLength + offset % ringLength] = chosen[stream] }
        guard offset > c.maxDelay else { return false }
        for stream in 0...q {
            frame[stream] = ring[stream * ringLength + (offset - c.maxDelay + c.delays[stream]) % ringLength]
        }
        return true
    }

    /// Back to the start of a conversation (the RNG continues).
    public func reset() {
        model.reset()
        ring.update(repeating: -2, count: streams * ringLength)
        offset = 0
    }

    private func sample(_ logits: UnsafePointer<Float>, count: Int, temperature: Float, topK: Int) -> Int {
        sampleToken(logits: logits, count: count, temperature: temperature, topK: topK, using: &rng,
                    candidateValues: candidateValues, candidateIndices: candidateIndices)
    }

}
