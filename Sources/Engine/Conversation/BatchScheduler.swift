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
public final class BatchScheduler: @unchecked Sendable {
    public let lm: LMBatch
    public let mimi: MimiWeights
    private var members: [BatchedConversation?]
    /// The conversations the current tick steps (`[capacity]`, filled per tick).
    private let stepping: UnsafeMutablePointer<Unmanaged<BatchedConversation>>
    /// The stages `tick` times, as a `ConversationSession` names them.
    public let stageNames = ["mimi_encode", "temporal", "depformer", "mimi_decode"]
    /// Nanoseconds the last tick spent in each stage (`stageNames` order), for all its
    /// conversations together.
    public private(set) var stageNanoseconds: (encode: UInt64, temporal: UInt64, depformer: UInt64, decode: UInt64) = (0, 0, 0, 0)

    public init(lm: LMBatch, mimi: MimiWeights) throws(ConversationError) {
        let config = lm.config
        let needed = max(config.userCodebooks, config.generatedCodebooks)
        guard mimi.config.codebooks >= needed else {
            throw ConversationError("Mimi runs \(mimi.config.codebooks) codebooks but the language model needs \(needed)")
        }
        guard mimi.config.codebookSize == config.audioCard else {
            throw ConversationError("Mimi codebooks have \(mimi.config.codebookSize) entries but the language model's audio card is \(config.audioCard)")
        }
        guard mimi.config.frameSize == FrameTiming.samplesPerFrame else {
            throw ConversationError("Mimi frames are \(mimi.config.frameSize) samples; the engine runs \(FrameTiming.samplesPerFrame)")
        }
        self.lm = lm
        self.mimi = mimi
        members = Array(repeating: nil, count: lm.capacity)
        stepping = .allocate(capacity: lm.capacity)
    }

    deinit { stepping.deallocate() }

    /// A new conversation, or nil when the batch is full.
    public func open(sampling: LMSampling = .referenceDefaults, seed: UInt64 = 0) -> BatchedConversation? {
        guard let slot = lm.join(sampling: sampling, seed: seed) else { return nil }
        let conversation = BatchedConversation(slot: slot, mimi: mimi, pool: lm.pool)
        members[slot] = conversation
        return conversation
    }

    /// Ends a conversation; its slot is free for the next `open`.
    public func close(_ conversation: BatchedConversation) {
        precondition(members[conversation.slot] === conversation, "BatchScheduler.close: not an open conversation")
        members[conversation.slot] = nil
        lm.leave(conversation.slot)
    }

    /// The conversation in `slot`, if one is open there.
    public func member(_ slot: Int) -> BatchedConversation? { members[slot] }

    /// Conversations open now.
    public var openConversations: Int { members.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

    /// Steps every conversation with a submitted frame; returns how many. Each of them then
    /// holds its `reply`.
    ///
    /// Mimi runs per conversation: one conversation's encode (and decode) splits its products
    /// over the pool; several run side by side, one conversation per pool thread at a time (a
    /// conversation's products then run on its one thread, each split into the same pieces, so
    /// its numbers are the same either way), which keeps every core busy where one frame's
    /// products split poorly. The LM steps them all in one pass over its weights.
    @discardableResult
    public func tick() -> Int {
        let start = MonotonicClock.nanoseconds()
        var count = 0
        for case let c? in members where c.pending {
            stepping[count] = Unmanaged.passUnretained(c)
            count += 1
        }
        runMimi(count, decoding: false)
        for i in 0..<count { stepping[i].takeUnretainedValue().submitCodes(to: lm) }
        let encoded = MonotonicClock.nanoseconds()
        let stepped = lm.step()
        let lmDone = MonotonicClock.nanoseconds()
        runMimi(count, decoding: true)
        stageNanoseconds = (encoded - start, lm.temporalNanoseconds, lm.depformerNanoseconds, MonotonicClock.nanoseconds() - lmDone)
        return stepped
    }

    /// Mimi's encode (or decode) of the first `count` conversations of `stepping`.
    private func runMimi(_ count: Int, decoding: Bool) {
        guard count > 1, let pool = lm.pool, pool.threads > 1 else {
            for i in 0..<count { Self.runMimi(stepping[i].takeUnretainedValue(), decoding: decoding, lm: lm) }
            return
        }
        var job = MimiJob(conversations: stepping, lm: Unmanaged.passUnretained(lm), decoding: decoding)
        withUnsafeMutablePointer(to: &job) { job in
            pool.run(tasks: count, context: UnsafeMutableRawPointer(job)) { raw, task, _ in
                let job = raw!.assumingMemoryBound(to: MimiJob.self).pointee
                BatchScheduler.runMimi(job.conversations[Int(task)].takeUnretainedValue(), decoding: job.decoding,
                                       lm: job.lm.takeUnretainedValue())
            }
        }
    }

    private static func runMimi(_ conversation: BatchedConversation, decoding: Bool, lm: LMBatch) {
        if decoding { conversation.decode(from: lm) } else { conversation.encodeAudio() }
    }

    /// One tick's Mimi work, for the pool's tasks (no closure context to allocate).
    private struct MimiJob {
        let conversations: UnsafeMutablePointer<Unmanaged<BatchedConversation>>
        let lm: Unmanaged<LMBatch>
        let decoding: Bool
    }
}
