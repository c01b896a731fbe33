import Dispatch
import Engine

/// The server's lockstep batch: every session's conversation is a member of one
/// `BatchScheduler`, and each tick steps every member that has a frame waiting together (each
/// weight matrix read once for all of them), on one serial queue that the sessions' pipelines
/// share. A tick runs as soon as a frame is waiting and the previous tick is done: with one
/// session the reply is as prompt as a session alone; under load, frames that became whole
/// during a tick wait for the next one, so a tick serves every session that is ready.
///
/// Everything here runs on `queue` (the pipelines call it from there). `tick` allocates
/// nothing and takes no lock.
final class SessionBatch: @unchecked Sendable {
    let queue: DispatchQueue
    let scheduler: BatchScheduler
    /// The pipeline of each member, by its slot in the scheduler.
    private var pipelines: [ConversationPipeline?]
    /// Which slots the current tick steps.
    private var stepping: [Bool]
    /// The pipelines the current tick stepped, for the pool's reply-encoding tasks.
    private let encoding: UnsafeMutablePointer<Unmanaged<ConversationPipeline>>
    private var tickScheduled = false
    /// The tick as a block, made once: scheduling a tick allocates no closure.
    private var tickWork: DispatchWorkItem?
    /// The last tick's stage times, as `ServerMetrics.recordProcessorStages` takes them.
    private let stages: UnsafeMutablePointer<UInt64>
    /// Ticks run, and the members they stepped (for the batch-size figure in logs).
    private(set) var ticks = 0
    private(set) var steppedFrames = 0

    init(scheduler: BatchScheduler, queue: DispatchQueue) {
        self.scheduler = scheduler
        self.queue = queue
        pipelines = Array(repeating: nil, count: scheduler.lm.capacity)
        stepping = Array(repeating: false, count: scheduler.lm.capacity)
        stages = .allocate(capacity: scheduler.stageNames.count)
        stages.initialize(repeating: 0, count: scheduler.stageNames.count)
        encoding = .allocate(capacity: scheduler.lm.capacity)
        tickWork = DispatchWorkItem { [unowned self] in tick() }
    }

    deinit {
        stages.deallocate()
        encoding.deallocate()
    }

    /// Makes `pipeline`'s conversation a member (on `queue`); nil when the batch is full.
    func join(_ pipeline: ConversationPipeline, _ open: (BatchScheduler) -> BatchedConversation?) -> BatchedConversation? {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let conversation = open(scheduler) else { return nil }
        pipelines[conversation.slot] = pipeline
        return conversation
    }

    /// Ends a member (on `queue`); its slot is free for the next session.
    func leave(_ conversation: BatchedConversation) {
        dispatchPrecondition(condition: .onQueue(queue))
        pipelines[conversation.slot] = nil
        scheduler.close(conversation)
    }

    /// A member submitted a frame: make sure a tick follows (on `queue`).
    func requestTick() {
        guard !tickScheduled, let tickWork else { return }
        tickScheduled = true
        queue.async(execute: tickWork)
    }

    private func tick() {
        tickScheduled = false
        var any = false
        for slot in pipelines.indices {
            let pending = pipelines[slot] != nil && scheduler.member(slot)?.pending == true
            stepping[slot] = pending
            any = any || pending
        }
        guard any else { return }
        let start = MonotonicClock.nanoseconds()
        let stepped = scheduler.tick()
        let computeNanoseconds = MonotonicClock.nanoseconds() - start
        let s = scheduler.stageNanoseconds
        stages[0] = s.encode
        stages[1] = s.temporal
        stages[2] = s.depformer
        stages[3] = s.decode
        ticks += 1
        steppedFrames += stepped
        encodeReplies()
        for slot in pipelines.indices where stepping[slot] {
            stepping[slot] = false
            pipelines[slot]?.batchStepped(computeNanoseconds: computeNanoseconds, stages: stages)
        }
    }

    /// The stepped sessions' replies to Opus, side by side on the pool's threads (one session
    /// a task; each touches only its own encoder), before each session sends its reply in turn.
    private func encodeReplies() {
        var count = 0
        for slot in pipelines.indices where stepping[slot] {
            guard let pipeline = pipelines[slot] else { continue }
            encoding[count] = Unmanaged.passUnretained(pipeline)
            count += 1
        }
        guard count > 0 else { return }
        guard count > 1, let pool = scheduler.lm.pool, pool.threads > 1 else {
            for i in 0..<count { encoding[i].takeUnretainedValue().encodeBatchReply() }
            return
        }
        pool.run(tasks: count, context: UnsafeMutableRawPointer(encoding)) { raw, task, _ in
            raw!.assumingMemoryBound(to: Unmanaged<ConversationPipeline>.self)[Int(task)].takeUnretainedValue().encodeBatchReply()
        }
    }

    /// Runs `frames` silent frames through members of its own (two when the batch holds two, so
    /// the batched paths run too), then lets them go: the code and the weights are warm before
    /// the first client. Call it on `queue` before any session joins.
    func warmUp(frames: Int) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard frames > 0 else { return }
        let members = (0..<min(2, scheduler.lm.capacity)).compactMap { _ in scheduler.open() }
        let silence = [Float](repeating: 0, count: FrameTiming.samplesPerFrame)
        for _ in 0..<frames {
            for member in members { silence.withUnsafeBufferPointer { member.submit(frame: $0.baseAddress!) } }
            scheduler.tick()
        }
        for member in members { scheduler.close(member) }
    }
}
