import AudioIO
import Dispatch
import Engine
#if canImport(Glibc)
import Glibc
#endif

/// How audio travels on a connection: bare Opus packets (the framed protocol) or an Ogg Opus
/// stream (plain Ogg mode, Kyutai's WebSocket protocol).
public enum AudioContainer: Sendable {
    case opusPackets
    case ogg
}

/// One connection's audio path, run on a serial compute queue off the event loops: decode the
/// client's Opus (with packet-loss concealment on request), cut 80 ms frames, step the
/// conversation, encode the reply as one 80 ms Opus packet per frame.
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
    private var conversation: ServerConversation?
    private var closed = false
    private var failed = false

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
    /// The Ogg pages of one frame, reused (its capacity stays).
    private var pages: [UInt8] = []
    private var stages: [UInt64] = []
    private var budget: InputBudget
    /// Frames run so far (the first is followed by an encoder reset, as Kyutai's server does).
    private var framesRun = 0
    private var reportedDelay = false

    /// Ogg input that shows no OpusHead within this many bytes is refused.
    static let oggSearchLimit = 64 * 1024

    init(factory: ConversationFactory, options: SessionOptions, input: AudioContainer, output: AudioContainer,
         queue: DispatchQueue, statistics: ServerStatistics, inputAheadSeconds: Double,
         outbox: PipelineOutbox) {
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
                let made = try factory.makeConversation(options: options)
                made.processor.reset()
                made.textDecoder?.reset()
                stages = [UInt64](repeating: 0, count: max(1, made.processor.stageNames.count))
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
                conversation = made
                textDecoder = made.textDecoder
                outbox.post(.ready)
            } catch {
                fail("cannot start a conversation: \(error)")
            }
        }
    }

    /// Incoming audio: one Opus packet, or a piece of an Ogg stream, which reached the event
    /// loop at `arrivedAt` (monotonic ns).
    func push(_ bytes: [UInt8], arrivedAt: UInt64) {
        queue.async { [self] in
            defer { outbox.consumedOne() }
            guard !closed, !failed, conversation != nil else { return }
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
            guard !closed, !failed, conversation != nil else { return }
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
            guard !closed else { return }
            if !failed, conversation != nil {
                let n = FrameTiming.samplesPerFrame
                if pending.count % n != 0 { pending.append(contentsOf: repeatElement(0, count: n - pending.count % n)) }
                runFrames(arrivedAt: 0)
                if let oggWriter {
                    pages.removeAll(keepingCapacity: true)
                    try? oggWriter.finish(to: &pages)
                    if !pages.isEmpty { pages.withUnsafeBytes { outbox.post(.audio, $0) } }
                }
            }
            outbox.post(.finished)
        }
    }

    /// Drops the conversation at once; later calls do nothing.
    func close() {
        queue.async { [self] in
            closed = true
            conversation = nil
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

    private func runFrames(arrivedAt: UInt64) {
        guard let conversation, let encoder else { return }
        let n = FrameTiming.samplesPerFrame
        var used = 0
        while pending.count - used >= n, !failed {
            frameIn.withUnsafeMutableBufferPointer { dst in
                pending.withUnsafeBufferPointer { src in
                    dst.baseAddress!.update(from: src.baseAddress! + used, count: n)
                }
            }
            used += n
            let computeStart = MonotonicClock.nanoseconds()
            let result = frameIn.withUnsafeBufferPointer { inPtr in
                frameOut.withUnsafeMutableBufferPointer { outPtr in
                    stages.withUnsafeMutableBufferPointer { st in
                        conversation.processor.process(inPtr.baseAddress!, output: outPtr.baseAddress!, stageNanoseconds: st.baseAddress!)
                    }
                }
            }
            framesRun += 1
            if framesRun == 1, let restartable = conversation.processor as? InputEncoderResetting {
                restartable.resetInputEncoder()
            }
            let computed = MonotonicClock.nanoseconds()
            stages.withUnsafeBufferPointer { statistics.addFrame(computeNanoseconds: computed - computeStart, stages: $0.baseAddress!) }
            if result.producedAudio {
                if !reportedDelay {
                    reportedDelay = true
                    outbox.post(.metadata, text: "{\"reply_delay_frames\":\(framesRun - 1)}")
                }
                emitAudio(encoder, arrivedAt: arrivedAt)
            }
            // The token goes to the connection, which decodes it off the compute path.
            if let token = result.textToken, conversation.textDecoder != nil { outbox.post(.token, token: token) }
            statistics.addCodecNanoseconds(MonotonicClock.nanoseconds() - computed, incoming: false)
        }
        if used > 0 { pending.removeFirst(used) }
    }

    private func emitAudio(_ encoder: OpusEncoder, arrivedAt: UInt64) {
        let count: Int
        do {
            count = try frameOut.withUnsafeBufferPointer { (pcm) throws(OpusError) -> Int in
                try packet.withUnsafeMutableBufferPointer { (out) throws(OpusError) -> Int in try encoder.encode(pcm, into: out) }
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

/// How far ahead of real time a client's audio may run: from the first audio on, the audio
/// received may exceed the time elapsed by at most `aheadSamples`. A client sending faster
/// (a file at full speed, or a few bytes of Opus claiming minutes of audio) is refused instead
/// of queued, so it cannot take the compute queue from the other sessions.
struct InputBudget {
    /// The allowance, in samples at 24 kHz.
    let aheadSamples: Int
    private var startNanoseconds: UInt64?
    private var received = 0

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
