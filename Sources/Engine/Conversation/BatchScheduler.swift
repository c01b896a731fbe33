import Mimi
import MoshiLM
import MoshiNumerics

/// Lockstep batching of conversations: sessions `submit` a frame of the user's audio, and each
/// `tick` steps every session that has one together: Mimi encode per session, one `LMBatch`
/// step for all of them (each weight matrix read once for the whole batch), Mimi decode per
/// session. A session without a frame this tick is left as it is. Sessions `open` and `close`
/// between ticks without disturbing the others. Each session gets exactly the audio and text
/// it would get alone in a `ConversationSession` with the same sampling and seed.
///
/// Not thread-safe: one thread submits, ticks and reads replies (the caller's frame loop).
/// `tick` allocates nothing; `open` allocates the session's codec state.
package final class BatchScheduler: @unchecked Sendable {
    package let lm: LMBatch
    package let mimi: MimiWeights
    private var members: [BatchedConversation?]
    /// The conversations the current tick steps (`[capacity]`, filled per tick) and what
    /// `MimiBatch` reads and writes for each.
    private let stepping: UnsafeMutablePointer<Unmanaged<BatchedConversation>>
    private let mimiBatch: MimiBatch
    private let encoders: UnsafeMutablePointer<Unmanaged<MimiEncoder>>
    private let decoders: UnsafeMutablePointer<Unmanaged<MimiDecoder>>
    private let frames: UnsafeMutablePointer<UnsafePointer<Float>>
    private let codesOut: UnsafeMutablePointer<UnsafeMutablePointer<Int32>>
    private let codesIn: UnsafeMutablePointer<UnsafePointer<Int32>>
    private let samplesOut: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    /// The stages `tick` times, as a `ConversationSession` names them.
    package let stageNames = ConversationSession.stages
    /// Nanoseconds the last tick spent in each stage (`stageNames` order), for all its
    /// conversations together.
    package private(set) var stageNanoseconds: (encode: UInt64, temporal: UInt64, depformer: UInt64, decode: UInt64) = (0, 0, 0, 0)

    package init(lm: LMBatch, mimi: MimiWeights) throws(ConversationError) {
        try ConversationError.check(lm: lm.config, mimi: mimi.config)
        self.lm = lm
        self.mimi = mimi
        members = Array(repeating: nil, count: lm.capacity)
        let n = lm.capacity
        stepping = .allocate(capacity: n)
        mimiBatch = MimiBatch(weights: mimi, capacity: n)
        encoders = .allocate(capacity: n)
        decoders = .allocate(capacity: n)
        frames = .allocate(capacity: n)
        codesOut = .allocate(capacity: n)
        codesIn = .allocate(capacity: n)
        samplesOut = .allocate(capacity: n)
    }

    deinit {
        stepping.deallocate()
        encoders.deallocate()
        decoders.deallocate()
        frames.deallocate()
        codesOut.deallocate()
        codesIn.deallocate()
        samplesOut.deallocate()
    }

    /// A new conversation, or nil when the batch is full.
    package func open(sampling: LMSampling = .referenceDefaults, seed: UInt64 = 0) -> BatchedConversation? {
        guard let slot = lm.join(sampling: sampling, seed: seed) else { return nil }
        let conversation = BatchedConversation(slot: slot, mimi: mimi, pool: lm.pool)
        members[slot] = conversation
        return conversation
    }

    /// Ends a conversation; its slot is free for the next `open`.
    package func close(_ conversation: BatchedConversation) {
        precondition(members[conversation.slot] === conversation, "BatchScheduler.close: not an open conversation")
        members[conversation.slot] = nil
        lm.leave(conversation.slot)
    }

    /// The conversation in `slot`, if one is open there.
    package func member(_ slot: Int) -> BatchedConversation? { members[slot] }

    /// Conversations open now.
    package var openConversations: Int { members.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

    /// Steps every conversation with a submitted frame; returns how many. Each of them then
    /// holds its `reply`.
    ///
    /// Mimi runs as one `MimiBatch` for all of them: its transformers' weights read once, the
    /// rest per conversation, conversations side by side on the pool's threads. The LM steps
    /// them all in one pass over its weights. Each conversation's numbers are those it gets alone.
    @discardableResult
    package func tick() -> Int {
        let start = MonotonicClock.nanoseconds()
        var count = 0
        for case let c? in members where c.pending {
            stepping[count] = Unmanaged.passUnretained(c)
            encoders[count] = Unmanaged.passUnretained(c.encoder)
            frames[count] = UnsafePointer(c.input)
            codesOut[count] = c.userCodes
            count += 1
        }
        mimiBatch.encode(encoders, samples: frames, codes: codesOut, count: count, pool: lm.pool)
        for i in 0..<count { stepping[i].takeUnretainedValue().submitCodes(to: lm) }
        let encoded = MonotonicClock.nanoseconds()
        let stepped = lm.step()
        let lmDone = MonotonicClock.nanoseconds()
        var decoding = 0
        for i in 0..<count {
            let c = stepping[i].takeUnretainedValue()
            guard c.prepareDecode(from: lm) else { continue }
            stepping[decoding] = stepping[i]
            decoders[decoding] = Unmanaged.passUnretained(c.decoder)
            codesIn[decoding] = UnsafePointer(c.modelCodes)
            samplesOut[decoding] = c.output
            decoding += 1
        }
        mimiBatch.decode(decoders, codes: codesIn, samples: samplesOut, count: decoding, pool: lm.pool)
        for i in 0..<decoding { stepping[i].takeUnretainedValue().finishDecode(from: lm) }
        stageNanoseconds = (encoded - start, lm.temporalNanoseconds, lm.depformerNanoseconds, MonotonicClock.nanoseconds() - lmDone)
        return stepped
    }
}
