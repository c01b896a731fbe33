import Engine
import NIOCore

/// The part of a connection that is the same in every protocol: the session slot, the
/// compute pipeline, input back-pressure, concealment of stalled input, the drop policy for a
/// slow reader, and freeing everything at once when the connection ends. Lives on the
/// channel's event loop; the protocol handler gives it the ways to send.
final class SessionCore {
    let server: ServerContext
    let channel: Channel
    private var pipeline: ConversationPipeline?
    private var outbox: PipelineOutbox?
    private var textDecoder: TextTokenDecoder?
    private var sessionID: Int?
    private var inFlight = 0
    private var readDeferred = false
    private var lastAudio: NIODeadline?
    private var concealTask: RepeatedTask?
    private var slowReaderTask: Scheduled<Void>?
    private var audioPaused = false
    private(set) var ready = false
    private(set) var finishing = false
    private(set) var ended = false

    /// Set by the protocol handler.
    var sendAudio: (UnsafeRawBufferPointer) -> Void = { _ in }
    var sendText: (String) -> Void = { _ in }
    /// The Metadata message (kind 4, JSON), where the protocol has room for it.
    var sendMetadata: (UnsafeRawBufferPointer) -> Void = { _ in }
    var onReady: () -> Void = {}
    var onFailed: (String) -> Void = { _ in }
    var onFinished: () -> Void = {}
    var resumeRead: () -> Void = {}

    init(server: ServerContext, channel: Channel) {
        self.server = server
        self.channel = channel
    }

    var isOpen: Bool { sessionID != nil }

    /// Takes a slot and starts the conversation; false when the server is full (the caller
    /// sends "server busy" and closes).
    func open(options: SessionOptions, input: AudioContainer, output: AudioContainer) -> Bool {
        precondition(sessionID == nil && !ended)
        let loop = channel.eventLoop
        let drainBound = NIOLoopBound(self, eventLoop: loop)
        guard let slot = server.acquireSession(drain: { loop.execute { drainBound.value.finishInput() } }) else { return false }
        sessionID = slot.id
        let bound = NIOLoopBound(self, eventLoop: loop)
        // One drain closure for the session, built here: posting it allocates nothing per frame.
        let outbox = PipelineOutbox()
        // Weakly: the outbox holds this closure and the session holds the outbox; a strong
        // capture would keep every ended session (and its ring) alive.
        let weak = WeakSessionCore(self)
        let drain: @Sendable () -> Void = { weak.value?.drainOutbox() }
        outbox.wake = { loop.execute(drain) }
        self.outbox = outbox
        let pipeline = ConversationPipeline(
            factory: server.factory, options: options, input: input, output: output, queue: slot.queue,
            statistics: server.statistics, inputAheadSeconds: server.configuration.maximumInputAheadSeconds, outbox: outbox,
            batch: server.batch, latePolicy: server.configuration.latePolicy)
        self.pipeline = pipeline
        pipeline.start()
        // Concealment is for the framed protocol, whose client sends one packet per 20-80 ms.
        // Ogg input (plain Ogg, WebSocket) arrives a page at a time, often a second of audio in
        // one burst (ffmpeg's muxer): it is never concealed, the model simply waits for it.
        let allowance = server.configuration.jitterAllowanceMilliseconds
        if allowance > 0, case .opusPackets = input {
            concealTask = loop.scheduleRepeatedTask(initialDelay: .milliseconds(80), delay: .milliseconds(80)) { _ in
                bound.value.concealIfStalled(allowance: .milliseconds(Int64(allowance)))
            }
        }
        return true
    }

    /// Incoming audio for the pipeline.
    func pushAudio(_ bytes: [UInt8]) {
        guard let pipeline, !finishing else { return }
        let now = NIODeadline.now()
        lastAudio = now
        inFlight += 1
        pipeline.push(bytes, arrivedAt: now.uptimeNanoseconds)
    }

    /// Whether the handler may ask the socket for more bytes now; if not, `resumeRead` is
    /// called once the backlog has drained.
    func mayRead() -> Bool {
        if inFlight >= server.configuration.maximumInputBacklog {
            readDeferred = true
            return false
        }
        return true
    }

    /// The client's audio ended (or the server drains): run what is left, then `onFinished`.
    func finishInput() {
        guard !finishing, !ended else { return }
        finishing = true
        concealTask?.cancel()
        concealTask = nil
        if let pipeline { pipeline.finish() } else { onFinished() }
    }

    /// Whether outgoing audio may be queued now; counts a drop when not.
    func admitAudio() -> Bool {
        if channel.isWritable, !audioPaused { return true }
        server.statistics.droppedAudio()
        return false
    }

    /// Writability changed: pause audio above the high-water mark and start the slow-reader clock.
    func writabilityChanged() {
        if channel.isWritable {
            audioPaused = false
            slowReaderTask?.cancel()
            slowReaderTask = nil
        } else if slowReaderTask == nil {
            audioPaused = true
            let bound = NIOLoopBound(self, eventLoop: channel.eventLoop)
            let seconds = server.configuration.slowReaderTimeoutSeconds
            slowReaderTask = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
                bound.value.server.logger.info("closing a client that does not read its replies")
                bound.value.channel.close(promise: nil)
            }
        }
    }

    /// Frees everything now: slot, conversation, timers. Idempotent.
    func end() {
        guard !ended else { return }
        ended = true
        concealTask?.cancel()
        concealTask = nil
        slowReaderTask?.cancel()
        slowReaderTask = nil
        outbox?.abandon()
        pipeline?.close()
        pipeline = nil
        if let sessionID { server.releaseSession(sessionID) }
        sendAudio = { _ in }
        sendText = { _ in }
        sendMetadata = { _ in }
        onReady = {}
        onFailed = { _ in }
        onFinished = {}
        resumeRead = {}
    }

    private func concealIfStalled(allowance: TimeAmount) {
        guard ready, !finishing, !ended, let lastAudio, inFlight == 0 else { return }
        guard NIODeadline.now() - lastAudio > allowance else { return }
        inFlight += 1
        pipeline?.concealMissingFrame()
    }

    /// Everything the compute queue has posted, in order (on the event loop).
    private func drainOutbox() {
        guard !ended, let outbox else { return }
        let consumed = outbox.drain { entry, bytes in
            guard !ended else { return }
            switch entry.kind {
            case .ready:
                ready = true
                textDecoder = pipeline?.textDecoder
                onReady()
            case .audio:
                sendAudio(bytes)
                if entry.arrivedAt > 0 { server.statistics.replied(lagNanoseconds: NIODeadline.now().uptimeNanoseconds &- entry.arrivedAt) }
            case .token:
                if let textDecoder {
                    let piece = textDecoder.decode(entry.token)
                    if !piece.isEmpty { sendText(piece) }
                }
            case .metadata: sendMetadata(bytes)
            case .failed: onFailed(String(decoding: bytes, as: UTF8.self))
            case .finished: onFinished()
            }
        }
        guard consumed > 0, !ended else { return }
        inFlight -= consumed
        if readDeferred, inFlight < server.configuration.maximumInputBacklog {
            readDeferred = false
            resumeRead()
        }
    }
}

/// A weak reference to a session for the outbox's wake-up closure (read on the session's event loop).
private final class WeakSessionCore: @unchecked Sendable {
    weak var value: SessionCore?
    init(_ value: SessionCore) { self.value = value }
}
