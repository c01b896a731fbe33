import Engine
import NIOCore

/// The session of a connection, the same in every protocol: behind a protocol's decoder and
/// encoder (`SessionEvent` in, `SessionOutput` out), it holds the session slot, the
/// conversation pipeline and its outbox, input back-pressure (it holds back `read`), the
/// concealment of stalled input, the slow-reader policy (audio dropped above the high-water
/// mark, the connection closed after `slowReaderTimeoutSeconds`), the token check, the idle
/// timeout, and closing after the last output is flushed. Everything is freed at once
/// (`end`) when the connection ends. Lives on the channel's event loop.
final class SessionHandler: ChannelDuplexHandler {
    typealias InboundIn = SessionEvent
    typealias OutboundIn = SessionOutput
    typealias OutboundOut = SessionOutput

    let server: ServerContext
    /// The protocol's name for logs ("framed", "Ogg", "WebSocket").
    private let protocolName: String
    private var context: ChannelHandlerContext?
    private var output: AudioContainer = .opusPackets
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
    private var ready = false
    private var finishing = false
    private var closing = false
    private var ended = false

    init(server: ServerContext, protocolName: String) {
        self.server = server
        self.protocolName = protocolName
    }

    private var isOpen: Bool { sessionID != nil }

    /// "a framed", "an Ogg", "a WebSocket".
    private var aProtocol: String {
        ("AEIOUaeiou".contains(protocolName.first ?? "x") ? "an " : "a ") + protocolName
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        end()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        end()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        end()
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .open(let request):
            open(request)
        case .audio(let bytes):
            guard isOpen else { fail("audio before the handshake"); return }
            pushAudio(bytes)
        case .ping(let payload):
            write(.pong(payload))
        case .clientError(let text):
            server.logger.info("client error: \(text)")
            closeAfterFlush(.disconnect)
        case .malformed(let reason):
            fail(reason)
        case .closeRequested:
            // RFC 6455 5.5.1: after a Close, no more data frames. Answer and stop; a client
            // that wants every reply waits for them before it closes.
            closeAfterFlush(.end)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            guard !closing else { return }
            if isOpen { finishInput() } else { closeAfterFlush(.disconnect) }
            return
        }
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            fail("idle timeout: nothing received for \(server.configuration.idleTimeoutSeconds) s")
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Writability changed: pause audio above the high-water mark and start the slow-reader clock.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let channel = context.channel
        if channel.isWritable {
            audioPaused = false
            slowReaderTask?.cancel()
            slowReaderTask = nil
        } else if slowReaderTask == nil {
            audioPaused = true
            let server = server
            let seconds = server.configuration.slowReaderTimeoutSeconds
            slowReaderTask = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
                server.logger.info("closing a client that does not read its replies")
                channel.close(promise: nil)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    /// Input back-pressure: no more reads while `maximumInputBacklog` messages wait for the
    /// compute queue; the outbox's drain asks again.
    func read(context: ChannelHandlerContext) {
        if inFlight >= server.configuration.maximumInputBacklog {
            readDeferred = true
        } else {
            context.read()
        }
    }

    // MARK: The session

    /// Checks the token, takes a slot and starts the conversation; a refusal is sent and closes.
    private func open(_ request: SessionRequest) {
        guard !isOpen, !ended else { fail("a second session on one connection"); return }
        if case .presented(let token, let hint) = request.credential, !server.configuration.access.accepts(token: token) {
            server.statistics.sessionRejected(.unauthorized)
            server.logger.notice("refused \(aProtocol) client: \(token == nil ? "no token (\(hint))" : "wrong token")")
            fail(token == nil ? "unauthorized: this server needs a token (\(hint))" : "unauthorized: wrong token", protocolError: false)
            return
        }
        guard let loop = context?.eventLoop else { return }
        let drainBound = NIOLoopBound(self, eventLoop: loop)
        guard let slot = server.acquireSession(drain: { loop.execute { drainBound.value.finishInput() } }) else {
            server.logger.info("\(protocolName) client refused: server busy")
            fail("server busy: \(server.configuration.maximumSessions) session(s) already open", protocolError: false)
            return
        }
        sessionID = slot.id
        output = request.output
        // One drain closure for the session, built here: posting it allocates nothing per frame.
        let outbox = PipelineOutbox()
        // Weakly: the outbox holds this closure and the session holds the outbox; a strong
        // capture would keep every ended session (and its ring) alive.
        let weak = WeakSessionHandler(self)
        let drain: @Sendable () -> Void = { weak.value?.drainOutbox() }
        outbox.wake = { loop.execute(drain) }
        self.outbox = outbox
        let pipeline = ConversationPipeline(
            factory: server.factory, options: request.options, input: request.input, output: request.output, queue: slot.queue,
            statistics: server.statistics, inputAheadSeconds: server.configuration.maximumInputAheadSeconds, outbox: outbox,
            batch: server.batch, latePolicy: server.configuration.latePolicy)
        self.pipeline = pipeline
        pipeline.start()
        // Concealment is for the framed protocol, whose client sends one packet per 20-80 ms.
        // Ogg input (plain Ogg, WebSocket) arrives a page at a time, often a second of audio in
        // one burst (ffmpeg's muxer): it is never concealed, the model simply waits for it.
        let allowance = server.configuration.jitterAllowanceMilliseconds
        if allowance > 0, case .opusPackets = request.input {
            let bound = NIOLoopBound(self, eventLoop: loop)
            concealTask = loop.scheduleRepeatedTask(initialDelay: .milliseconds(80), delay: .milliseconds(80)) { _ in
                bound.value.concealIfStalled(allowance: .milliseconds(Int64(allowance)))
            }
        }
    }

    /// Incoming audio for the pipeline.
    private func pushAudio(_ bytes: [UInt8]) {
        guard let pipeline, !finishing else { return }
        let now = NIODeadline.now()
        lastAudio = now
        inFlight += 1
        pipeline.push(bytes, arrivedAt: now.uptimeNanoseconds)
    }

    /// The client's audio ended (or the server drains): run what is left, then end the stream.
    private func finishInput() {
        guard !finishing, !ended else { return }
        finishing = true
        concealTask?.cancel()
        concealTask = nil
        if let pipeline { pipeline.finish() } else { closeAfterFlush(.end) }
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
                write(.ready(model: server.factory.modelDescription))
            case .audio:
                sendAudio(bytes)
                if entry.arrivedAt > 0 { server.statistics.replied(lagNanoseconds: NIODeadline.now().uptimeNanoseconds &- entry.arrivedAt) }
            case .token:
                if let textDecoder {
                    let piece = textDecoder.decode(entry.token)
                    if !piece.isEmpty { write(.text(piece)) }
                }
            case .metadata: write(.metadata(Array(bytes)))
            case .failed: fail(String(decoding: bytes, as: UTF8.self))
            case .finished: closeAfterFlush(.end)
            }
        }
        guard consumed > 0, !ended else { return }
        inFlight -= consumed
        if readDeferred, inFlight < server.configuration.maximumInputBacklog {
            readDeferred = false
            context?.read()
        }
    }

    /// Sends a reply packet or page unless the client reads too slowly (then it is counted and
    /// dropped). Dropping pages of an Ogg stream is safe for players (the granule positions
    /// still count the audio); its header pages and its end page are always sent.
    private func sendAudio(_ bytes: UnsafeRawBufferPointer) {
        guard let context else { return }
        guard admitAudio(channel: context.channel) || output == .ogg && bytes.count > 5 && bytes[5] & 0x06 != 0 else { return }
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        write(.audio(buffer))
    }

    /// Whether outgoing audio may be queued now; counts a drop when not.
    private func admitAudio(channel: Channel) -> Bool {
        if channel.isWritable, !audioPaused { return true }
        server.statistics.droppedAudio()
        return false
    }

    // MARK: Output and closing

    private func write(_ output: SessionOutput) {
        guard let context, !closing else { return }
        context.writeAndFlush(wrapOutboundOut(output), promise: nil)
    }

    /// Sends the failure (where the protocol has room for it), then closes; the session's
    /// resources are freed at once.
    private func fail(_ reason: String, protocolError: Bool = true) {
        guard !closing else { return }
        if protocolError { server.statistics.protocolError() }
        server.logger.debug("closing \(aProtocol) connection: \(reason)")
        closeAfterFlush(.failure(reason: reason, protocolError: protocolError))
    }

    /// Writes `last` and closes the channel once it (and everything before it) is written.
    private func closeAfterFlush(_ last: SessionOutput) {
        guard !closing, let context else { return }
        closing = true
        end()
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(last)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    /// Frees everything now: slot, conversation, timers. Idempotent.
    private func end() {
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
    }
}

/// A weak reference to a session for the outbox's wake-up closure (read on the session's event loop).
private final class WeakSessionHandler: @unchecked Sendable {
    weak var value: SessionHandler?
    init(_ value: SessionHandler) { self.value = value }
}

extension ChannelPipeline.SynchronousOperations {
    /// Adds a protocol's decoder and encoder and a `SessionHandler` at the end of the pipeline,
    /// in that order. The decoder goes in last: an event it fires when added (an open, for
    /// protocols whose session starts with the connection) finds the session handler there.
    func addSession(decoder: ChannelHandler, encoder: ChannelHandler, server: ServerContext, protocolName: String) throws {
        try addHandler(encoder)
        try addHandler(SessionHandler(server: server, protocolName: protocolName))
        try addHandler(decoder, position: .before(encoder))
    }
}
