import AudioIO
import Dispatch
import Engine
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How audio travels on a connection: bare Opus packets (the framed protocol) or an Ogg Opus
/// stream (plain Ogg mode, Kyutai's WebSocket protocol).
package enum AudioContainer: Sendable {
    case opusPackets
    case ogg
}

/// One connection's audio path, run on a serial compute queue off the event loops: decode the
/// client's Opus (with packet-loss concealment on request), cut 80 ms frames, step the
/// conversation, encode the reply as one 80 ms Opus packet per frame.
///
/// The conversation is either a session of its own (`ConversationFactory.makeConversation`,
/// stepped here frame by frame) or a member of the server's lockstep batch (`SessionBatch`:
/// this pipeline submits a frame, the batch's tick steps it with every other session's, then
/// calls `batchStepped`). Either way, frames the model has fallen behind on are dropped by the
/// late policy, counted, and never queued without bound.
final class ConversationPipeline: @unchecked Sendable {
    // Everything below is touched only on `queue`.
    private let queue: DispatchQueue
    private let factory: ConversationFactory
    private let options: SessionOptions
    private let input: AudioContainer
    private let output: AudioContainer
    /// Where results go: the connection drains it on its event loop.
    let outbox: PipelineOutbox
    /// The conversation's text decoder, for the connection (tokens are decoded on its event
    /// loop, off the compute path); set before `.ready` is posted.
    private(set) var textDecoder: TextTokenDecoder?
    private let statistics: ServerStatistics
    /// The server's batch, when conversations are batched (its queue is `queue`).
    private let batch: SessionBatch?
    private let latePolicy: LatePolicy
    /// A conversation of its own, or
    private var conversation: ServerConversation?
    /// a member of `batch`.
    private var member: BatchedConversation?
    /// The stream index of the frame the member has submitted.
    private var memberFrame = 0
    private var closed = false
    private var failed = false
    private var finishing = false
    private var finished = false

    private var opusDecoder: OpusDecoder?
    private var oggDecoder: OggOpusDecoder?
    private var oggBytesWithoutHead = 0
    private var encoder: OpusEncoder?
    private var oggWriter: OggOpusWriter?
    private var pending: [Float] = []
    private var scratch = [Float](repeating: 0, count: 2880)
    private var frameIn = [Float](repeating: 0, count: FrameTiming.samplesPerFrame)
    private var frameOut = [Float](repeating: 0, count: FrameTiming.samplesPerFrame)
    private var packet = [UInt8](repeating: 0, count: OpusEncoder.maximumPacketSize)
    /// The reply `encodeBatchReply` encoded into `packet` on a pool thread (its byte count), for
    /// `batchStepped` to send; nil when this frame's reply is to be encoded here.
    private var encodedReply: Result<Int, OpusError>?
    /// The Ogg pages of one frame, reused (its capacity stays).
    private var pages: [UInt8] = []
    private var stages: [UInt64] = []
    private var budget: InputBudget
    /// Frames run so far (the first is followed by an encoder reset, as Kyutai's server does).
    private var framesRun = 0
    private var reportedDelay = false
    /// Samples of `pending` already taken as frames (removed when a call ends).
    private var used = 0
    /// Frames of the stream taken from `pending` so far: run, or dropped as late.
    private var framesTaken = 0
    /// Whole frames of the stream whose arrival time is in `arrivals`.
    private var framesRegistered = 0
    /// When the bytes completing each recent frame arrived (by stream index modulo the count;
    /// 0 for audio the server made: concealment, padding), for the reply lag.
    private var arrivals = [UInt64](repeating: 0, count: ConversationPipeline.arrivalSlots)
    /// When each recent frame was there to be run: its arrival, or when the server made it.
    private var readyTimes = [UInt64](repeating: 0, count: ConversationPipeline.arrivalSlots)
    /// This session's frames run late (reply more than a frame after the frame was due) and
    /// dropped by the late policy.
    private(set) var lateFrames = 0
    private(set) var droppedFrames = 0
    /// Input messages handed to `push` and not yet taken up on `queue`: audio newer than
    /// what `pending` holds.
    private let queuedInputs = Atomic<Int>(0)

    static let arrivalSlots = 256

    /// Ogg input that shows no OpusHead within this many bytes is refused.
    static let oggSearchLimit = 64 * 1024

    init(factory: ConversationFactory, options: SessionOptions, input: AudioContainer, output: AudioContainer,
         queue: DispatchQueue, statistics: ServerStatistics, inputAheadSeconds: Double,
         outbox: PipelineOutbox, batch: SessionBatch? = nil, latePolicy: LatePolicy = .default) {
        self.batch = batch
        self.latePolicy = latePolicy
        budget = InputBudget(aheadSamples: Int(inputAheadSeconds * Double(FrameTiming.sampleRate)))
        self.factory = factory
        self.options = options
        self.input = input
        self.output = output
        self.queue = queue
        self.statistics = statistics
        self.outbox = outbox
        pages.reserveCapacity(8192)
        // A frame, a 120 ms packet and a concealed frame fit without growing.
        pending.reserveCapacity(3 * FrameTiming.samplesPerFrame + 2880)
    }

    /// Makes the conversation and the codecs; reports `.ready` or `.failed`.
    func start() {
        queue.async { [self] in
            guard !closed else { return }
            do {
                var made: ServerConversation?
                if let batch, let batching = factory as? BatchingConversationFactory {
                    var decoder: TextTokenDecoder?
                    member = batch.join(self) { scheduler in
                        guard let joined = batching.join(scheduler, options: options) else { return nil }
                        decoder = joined.textDecoder
                        return joined.conversation
                    }
                    guard member != nil else { throw ServerBusy() }
                    decoder?.reset()
                    textDecoder = decoder
                } else {
                    let alone = try factory.makeConversation(options: options)
                    alone.processor.reset()
                    alone.textDecoder?.reset()
                    stages = [UInt64](repeating: 0, count: max(1, alone.processor.stageNames.count))
                    made = alone
                }
                let encoder = try OpusEncoder(sampleRate: FrameTiming.sampleRate, channelCount: 1, application: .voip)
                try encoder.setBitrate(32_000)
                self.encoder = encoder
                switch input {
                case .opusPackets: opusDecoder = try OpusDecoder(sampleRate: FrameTiming.sampleRate, channelCount: 1)
                case .ogg: oggDecoder = OggOpusDecoder(maximumPacketSize: 8192, dropsPreSkip: false)
                }
                if output == .ogg {
                    oggWriter = try OggOpusWriter(head: OpusHead(preSkip: encoder.preSkip48k, inputSampleRate: FrameTiming.sampleRate),
                                                  tags: OpusTags(vendor: "SwiftMoshi"))
                }
                if let made {
                    conversation = made
                    textDecoder = made.textDecoder
                }
                outbox.post(.ready)
            } catch {
                fail("cannot start a conversation: \(error)")
            }
        }
    }

    /// Incoming audio: one Opus packet, or a piece of an Ogg stream, which reached the event
    /// loop at `arrivedAt` (monotonic ns).
    func push(_ bytes: [UInt8], arrivedAt: UInt64) {
        queuedInputs.add(1, ordering: .relaxed)
        queue.async { [self] in
            queuedInputs.subtract(1, ordering: .relaxed)
            defer { outbox.consumedOne() }
            guard !closed, !failed, hasConversation else { return }
            switch input {
            case .opusPackets:
                let started = MonotonicClock.nanoseconds()
                decodePacket(bytes, arrivedAt: arrivedAt)
                statistics.addCodecNanoseconds(MonotonicClock.nanoseconds() - started, incoming: true)
                runFrames(arrivedAt: arrivedAt)
            case .ogg:
                // Packet by packet, each frame run as soon as it is whole: the decoded audio
                // waiting here never exceeds a frame and a packet, whatever the message holds.
                oggDecoder?.push(bytes)
                while !failed {
                    let started = MonotonicClock.nanoseconds()
                    guard decodeNextOggPacket(arrivedAt: arrivedAt) else { break }
                    statistics.addCodecNanoseconds(MonotonicClock.nanoseconds() - started, incoming: true)
                    runFrames(arrivedAt: arrivedAt)
                }
                noteOggBytesWithoutHead(bytes.count)
            }
        }
    }

    /// A frame's worth of input is missing (the client stalled): conceal it with Opus PLC
    /// (silence for an Ogg input whose decoder has no state yet) and run the frame.
    func concealMissingFrame() {
        queue.async { [self] in
            defer { outbox.consumedOne() }
            guard !closed, !failed, hasConversation else { return }
            let n = FrameTiming.samplesPerFrame
            var concealed = false
            if let opusDecoder {
                concealed = scratch.withUnsafeMutableBufferPointer { pcm in
                    guard let got = try? opusDecoder.decodeMissing(frameSize: n, into: pcm) else { return false }
                    pending.append(contentsOf: pcm[0..<got])
                    return true
                }
            }
            if !concealed { pending.append(contentsOf: repeatElement(0, count: n)) }
            statistics.addConcealedFrame()
            runFrames(arrivedAt: 0)
        }
    }

    /// The client's audio ended: run what is left (padded to a frame), end the Ogg stream,
    /// report `.finished`.
    func finish() {
        queue.async { [self] in
            guard !closed, !finishing else { return }
            finishing = true
            if !failed, hasConversation {
                let n = FrameTiming.samplesPerFrame
                let left = (pending.count - used) % n
                if left != 0 { pending.append(contentsOf: repeatElement(0, count: n - left)) }
                runFrames(arrivedAt: 0)
            }
            finishIfDone()
        }
    }

    /// After `finish`: once every frame has run, ends the Ogg stream and reports `.finished`.
    private func finishIfDone() {
        guard finishing, !finished, !closed else { return }
        if !failed, hasConversation {
            guard pending.count - used < FrameTiming.samplesPerFrame, member?.pending != true else { return }
            if let oggWriter {
                pages.removeAll(keepingCapacity: true)
                try? oggWriter.finish(to: &pages)
                if !pages.isEmpty { pages.withUnsafeBytes { outbox.post(.audio, $0) } }
            }
        }
        finished = true
        outbox.post(.finished)
    }

    private var hasConversation: Bool { conversation != nil || member != nil }

    /// Drops the conversation at once; later calls do nothing.
    func close() {
        queue.async { [self] in
            closed = true
            conversation = nil
            if let member, let batch { batch.leave(member) }
            member = nil
            opusDecoder = nil
            oggDecoder = nil
            oggWriter = nil
            encoder = nil
            pending = []
        }
    }

    private func fail(_ reason: String) {
        guard !failed else { return }
        failed = true
        outbox.post(.failed, text: reason)
    }

    private func decodePacket(_ bytes: [UInt8], arrivedAt: UInt64) {
        guard let opusDecoder else { return }
        guard !bytes.isEmpty else { fail("empty audio message (an Opus packet was expected)"); return }
        let result: Result<Int, OpusError> = bytes.withUnsafeBufferPointer { data in
            scratch.withUnsafeMutableBufferPointer { pcm in
                Result { () throws(OpusError) -> Int in
                    let duration = try OpusDecoder.sampleCount(ofPacket: data, atRate: FrameTiming.sampleRate)
                    guard duration <= pcm.count else {
                        throw OpusError(call: "opus_packet_get_nb_samples", badArgument: "a packet of \(duration) samples is longer than 120 ms")
                    }
                    guard admit(samples: duration, arrivedAt: arrivedAt) else { return 0 }
                    let got = try opusDecoder.decode(data, into: pcm)
                    pending.append(contentsOf: pcm[0..<got])
                    return got
                }
            }
        }
        if case .failure(let error) = result { fail("audio payload is not an Opus packet: \(error.message)") }
    }

    /// Decodes one Ogg packet into `pending`; false when no complete packet is buffered (or the
    /// session failed).
    private func decodeNextOggPacket(arrivedAt: UInt64) -> Bool {
        guard let oggDecoder else { return false }
        do {
            guard let got = try oggDecoder.decodeNextPacket(appendingTo: &pending) else { return false }
            return admit(samples: got, arrivedAt: arrivedAt)
        } catch {
            fail(error.description)
            return false
        }
    }

    private func noteOggBytesWithoutHead(_ count: Int) {
        guard let oggDecoder, oggDecoder.reader.head == nil, !failed else { return }
        oggBytesWithoutHead += count
        if oggBytesWithoutHead > Self.oggSearchLimit { fail("no Ogg Opus stream in the first \(Self.oggSearchLimit) bytes") }
    }

    /// Counts `samples` of client audio against the real-time budget; fails the session (and
    /// returns false) when the client is further ahead of real time than allowed. Time is when
    /// the bytes reached the server, not when this queue got to them: a backlog (a slow start
    /// of the conversation, a busy queue) is not the client running ahead.
    private func admit(samples: Int, arrivedAt: UInt64) -> Bool {
        guard budget.admit(samples: samples, now: arrivedAt == 0 ? MonotonicClock.nanoseconds() : arrivedAt) else {
            fail("input runs more than \(budget.aheadSamples * 1000 / FrameTiming.sampleRate) ms ahead of real time: send audio at the pace it was recorded")
            return false
        }
        return true
    }

    /// Runs (or, batched, submits) the whole frames waiting in `pending`, the bytes that
    /// completed the newest of them having arrived at `arrivedAt` (0: not from the client).
    private func runFrames(arrivedAt: UInt64) {
        registerArrivals(arrivedAt)
        if member != nil {
            submitNextFrame()
            return
        }
        guard let conversation else { return }
        let n = FrameTiming.samplesPerFrame
        while !failed {
            dropLateFrames()
            guard pending.count - used >= n else { break }
            let index = framesTaken
            frameIn.withUnsafeMutableBufferPointer { dst in
                pending.withUnsafeBufferPointer { src in
                    dst.baseAddress!.update(from: src.baseAddress! + used, count: n)
                }
            }
            used += n
            framesTaken += 1
            let computeStart = MonotonicClock.nanoseconds()
            let result = frameIn.withUnsafeBufferPointer { inPtr in
                frameOut.withUnsafeMutableBufferPointer { outPtr in
                    stages.withUnsafeMutableBufferPointer { st in
                        conversation.processor.process(inPtr.baseAddress!, output: outPtr.baseAddress!, stageNanoseconds: st.baseAddress!)
                    }
                }
            }
            if framesRun == 0, let restartable = conversation.processor as? InputEncoderResetting {
                restartable.resetInputEncoder()
            }
            let computed = MonotonicClock.nanoseconds()
            stages.withUnsafeBufferPointer { stagePointer in
                frameOut.withUnsafeBufferPointer { out in
                    completeFrame(index, result: result, output: out.baseAddress!, computeNanoseconds: computed - computeStart,
                                  stages: stagePointer.baseAddress!, hasText: conversation.textDecoder != nil)
                }
            }
        }
        compactPending()
    }

    /// Batched: hands the member the next whole frame and asks for a tick, unless a frame of
    /// this session already waits for one.
    private func submitNextFrame() {
        guard let member, let batch, !member.pending, !failed else { return }
        dropLateFrames()
        let n = FrameTiming.samplesPerFrame
        guard pending.count - used >= n else {
            compactPending()
            finishIfDone()
            return
        }
        pending.withUnsafeBufferPointer { member.submit(frame: $0.baseAddress! + used) }
        used += n
        memberFrame = framesTaken
        framesTaken += 1
        compactPending()
        batch.requestTick()
    }

    /// The batch stepped this session's frame (on `queue`): send the reply, submit the next frame.
    func batchStepped(computeNanoseconds: UInt64, stages: UnsafePointer<UInt64>) {
        guard let member, !closed else { return }
        if framesRun == 0 { member.resetInputEncoder() }
        completeFrame(memberFrame, result: member.reply, output: member.output, computeNanoseconds: computeNanoseconds,
                      stages: stages, hasText: textDecoder != nil)
        submitNextFrame()
    }

    /// What follows a frame through the model: counters, the reply's audio and text.
    private func completeFrame(_ index: Int, result: FrameResult, output: UnsafePointer<Float>,
                               computeNanoseconds: UInt64, stages: UnsafePointer<UInt64>, hasText: Bool) {
        framesRun += 1
        let now = MonotonicClock.nanoseconds()
        let arrivedAt = arrivals[index % Self.arrivalSlots]
        // Late: the reply comes more than a frame after its input was there to be run (arrived,
        // and its time had come; audio sent ahead of time is not late for waiting).
        let ready = max(readyTimes[index % Self.arrivalSlots], dueTime(ofFrame: index) ?? 0)
        let late = now > ready && now - ready > FrameTiming.frameDurationNanoseconds
        if late { lateFrames += 1 }
        statistics.addFrame(computeNanoseconds: computeNanoseconds, stages: stages, late: late)
        if let encoder, result.producedAudio {
            if !reportedDelay {
                reportedDelay = true
                outbox.post(.metadata, text: "{\"reply_delay_frames\":\(framesRun - 1)}")
            }
            emitAudio(output, encoder: encoder, arrivedAt: arrivedAt)
        }
        // The token goes to the connection, which decodes it off the compute path.
        if let token = result.textToken, hasText { outbox.post(.token, token: token) }
        statistics.addCodecNanoseconds(MonotonicClock.nanoseconds() - now, incoming: false)
    }

    /// When frame `index` of the stream was due: the stream's first audio arrival plus the
    /// frame's start in the audio (nil before any audio).
    private func dueTime(ofFrame index: Int) -> UInt64? {
        budget.start.map { $0 + UInt64(index) * FrameTiming.frameDurationNanoseconds }
    }

    /// Notes the arrival time of frames that became whole since the last call.
    private func registerArrivals(_ arrivedAt: UInt64) {
        let whole = framesTaken + (pending.count - used) / FrameTiming.samplesPerFrame
        guard framesRegistered < whole else { return }
        let ready = arrivedAt != 0 ? arrivedAt : MonotonicClock.nanoseconds()
        while framesRegistered < whole {
            arrivals[framesRegistered % Self.arrivalSlots] = arrivedAt
            readyTimes[framesRegistered % Self.arrivalSlots] = ready
            framesRegistered += 1
        }
    }

    /// The late policy over the frames waiting here: the frames to drop are counted from the
    /// oldest waiting frame, as if each 80 ms since it was there to be run had brought one more
    /// frame behind it, whether that audio is decoded here, still queued as bytes, or in the
    /// socket. Only frames with newer audio behind them are dropped (and counted): the newest
    /// is kept. Audio that came early (a burst, a page of a second) is never dropped: its time
    /// has not come.
    private func dropLateFrames() {
        guard !finishing else { return }
        let n = FrameTiming.samplesPerFrame
        let whole = (pending.count - used) / n
        guard whole > 0 else { return }
        let droppable = queuedInputs.load(ordering: .relaxed) > 0 ? whole : whole - 1
        let waiting = framesWaiting(from: framesTaken, now: MonotonicClock.nanoseconds())
        let drop = min(latePolicy.framesToDrop(waiting: waiting), droppable)
        guard drop > 0 else { return }
        used += drop * n
        framesTaken += drop
        droppedFrames += drop
        statistics.droppedInputFrames(drop)
    }

    /// Frame `index` and the frames that have come due behind it since it was there to be run
    /// (arrived, and its time come), at `now`.
    private func framesWaiting(from index: Int, now: UInt64) -> Int {
        let ready = max(readyTimes[index % Self.arrivalSlots], dueTime(ofFrame: index) ?? 0)
        guard now > ready else { return 1 }
        return 1 + Int((now - ready) / FrameTiming.frameDurationNanoseconds)
    }

    private func compactPending() {
        if used > 0 {
            pending.removeFirst(used)
            used = 0
        }
    }

    /// Batch members only, on one of the pool's threads while the batch queue waits for them:
    /// encodes the reply the batch just computed into `packet`, so that the sessions' Opus
    /// encoders run side by side instead of one after another on the batch queue. Touches only
    /// this session's encoder and packet; `batchStepped` sends what it made.
    func encodeBatchReply() {
        encodedReply = nil
        guard let member, let encoder, !closed, member.reply.producedAudio else { return }
        let output = member.output
        encodedReply = packet.withUnsafeMutableBufferPointer { out in
            Result { () throws(OpusError) -> Int in
                try encoder.encode(UnsafeBufferPointer(start: output, count: FrameTiming.samplesPerFrame), into: out)
            }
        }
    }

    private func emitAudio(_ output: UnsafePointer<Float>, encoder: OpusEncoder, arrivedAt: UInt64) {
        let count: Int
        do {
            if let encoded = encodedReply {
                encodedReply = nil
                count = try encoded.get()
            } else {
                count = try packet.withUnsafeMutableBufferPointer { (out) throws(OpusError) -> Int in
                    try encoder.encode(UnsafeBufferPointer(start: output, count: FrameTiming.samplesPerFrame), into: out)
                }
            }
        } catch {
            fail("cannot encode the reply: \(error)")
            return
        }
        if let oggWriter {
            pages.removeAll(keepingCapacity: true)
            do {
                try packet.withUnsafeBufferPointer { (all) throws(OggOpusError) in
                    try oggWriter.write(packet: UnsafeBufferPointer(rebasing: all[0..<count]), to: &pages)
                }
            } catch {
                fail("cannot write the reply's Ogg page: \(error)")
                return
            }
            pages.withUnsafeBytes { outbox.post(.audio, $0, arrivedAt: arrivedAt) }
        } else {
            packet.withUnsafeBytes { outbox.post(.audio, UnsafeRawBufferPointer(rebasing: $0[0..<count]), arrivedAt: arrivedAt) }
        }
    }

}

/// A batch with no free slot (more sessions than the batch was made for).
struct ServerBusy: Error, CustomStringConvertible {
    var description: String { "server busy: the batch is full" }
}

/// How far ahead of real time a client's audio may run: from the first audio on, the audio
/// received may exceed the time elapsed by at most `aheadSamples`. A client sending faster
/// (a file at full speed, or a few bytes of Opus claiming minutes of audio) is refused instead
/// of queued, so it cannot take the compute queue from the other sessions.
struct InputBudget {
    /// The allowance, in samples at 24 kHz.
    let aheadSamples: Int
    private var startNanoseconds: UInt64?
    private var received = 0

    /// When the first audio arrived (monotonic ns), nil before.
    var start: UInt64? { startNanoseconds }

    init(aheadSamples: Int) { self.aheadSamples = max(0, aheadSamples) }

    /// Counts `samples` received at `now` (monotonic ns); false when they put the client more
    /// than `aheadSamples` ahead of real time.
    mutating func admit(samples: Int, now: UInt64) -> Bool {
        guard samples > 0 else { return true }
        let start = startNanoseconds ?? now
        startNanoseconds = start
        let elapsed = Int((now &- start) / 1_000) * FrameTiming.sampleRate / 1_000_000
        guard received + samples - elapsed <= aheadSamples else { return false }
        received += samples
        return true
    }
}
