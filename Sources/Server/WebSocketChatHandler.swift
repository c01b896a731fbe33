import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Kyutai's WebSocket protocol on `GET /api/chat` (moshi's `server.py` / `moshi-backend`):
/// binary messages whose first byte is the kind. The server sends the handshake `0x00` (with
/// Kyutai's 8 zero bytes of protocol and model version) once the conversation is ready, then
/// `0x01` + Ogg Opus pages (24 kHz mono) and `0x02` + UTF-8 text; the client sends `0x01` +
/// Ogg Opus pages. Sampling options come from the query (`text_temperature`, `audio_temperature`,
/// `text_topk`, `audio_topk`, `audio_seed`).
final class WebSocketChatHandler: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// The path Kyutai's clients connect to.
    static let path = "/api/chat"

    private let core: SessionCore
    private let options: Result<SessionOptions, SessionOptionsError>
    private var context: ChannelHandlerContext?
    private var closing = false

    init(server: ServerContext, channel: Channel, uri: String) {
        core = SessionCore(server: server, channel: channel)
        options = Result { () throws(SessionOptionsError) -> SessionOptions in try SessionOptions(query: Self.query(of: uri)) }
    }

    /// Turns the pipeline of a connection that starts with "GET " into an HTTP server that
    /// upgrades `/api/chat` to a WebSocket and answers anything else with the browser page
    /// (`WebPageHandler`): its files, or 404.
    static func configureHTTP(pipeline: ChannelPipeline, server: ServerContext) throws {
        let maximum = server.configuration.maximumMessageBytes
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: maximum,
            shouldUpgrade: { channel, head in
                let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
                guard path == Self.path else { return channel.eventLoop.makeSucceededFuture(nil) }
                // A refused upgrade goes on as a plain request: WebPageHandler answers it 403 or 401.
                if let refusal = server.configuration.access.refusal(of: head) {
                    server.statistics.sessionRejected(.unauthorized)
                    server.logger.notice("refused \(Self.path) from \(channel.remoteAddress?.description ?? "?"): \(refusal.reason)")
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
            },
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    let notFound = try channel.pipeline.syncOperations.context(handlerType: WebPageHandler.self)
                    channel.pipeline.syncOperations.removeHandler(context: notFound, promise: nil)
                    try channel.pipeline.syncOperations.addHandler(
                        NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 64, maxAccumulatedFrameSize: maximum))
                    try channel.pipeline.syncOperations.addHandler(WebSocketChatHandler(server: server, channel: channel, uri: head.uri))
                }
            })
        try pipeline.syncOperations.configureHTTPServerPipeline(
            withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
        try pipeline.syncOperations.addHandler(WebPageHandler(access: server.configuration.access))
    }

    /// The query parameters of `uri` (no percent-decoding beyond what numbers need).
    static func query(of uri: String) -> [String: String] {
        guard let q = uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return [:] }
        var result: [String: String] = [:]
        for pair in q.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
        }
        return result
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        core.sendAudio = { [unowned self] bytes in
            guard core.admitAudio() || bytes.count > 5 && bytes[5] & 0x06 != 0 else { return }
            send(.audio, bytes)
        }
        core.sendText = { [unowned self] text in
            var text = text
            text.withUTF8 { send(.text, UnsafeRawBufferPointer($0)) }
        }
        core.sendMetadata = { [unowned self] json in send(.metadata, json) }
        core.onReady = { [unowned self] in send(.handshake, [UInt8](repeating: 0, count: 8)) }
        core.onFailed = { [unowned self] reason in fail(reason) }
        core.onFinished = { [unowned self] in closeSocket(code: .normalClosure) }
        core.resumeRead = { [unowned self] in self.context?.read() }
        switch options {
        case .failure(let error):
            fail(error.description)
        case .success(let options):
            if !core.open(options: options, input: .ogg, output: .ogg) {
                fail("server busy: \(core.server.configuration.maximumSessions) session(s) already open", protocolError: false)
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        core.end()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        core.end()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        let frame = unwrapInboundIn(data)
        core.server.statistics.received(frame.length)
        switch frame.opcode {
        case .binary:
            var payload = frame.unmaskedData
            guard let kindByte = payload.readInteger(as: UInt8.self) else { return }
            switch MessageKind(rawValue: kindByte) {
            case .audio: core.pushAudio(Array(payload.readableBytesView))
            case .ping: send(.ping, [])
            default: break  // Kyutai's servers ignore the other kinds from a client.
            }
        case .connectionClose:
            // RFC 6455 5.5.1: after a Close, no more data frames. Answer with a Close and stop;
            // a client that wants every reply waits for them before it closes.
            closeSocket(code: .normalClosure)
        case .ping:
            var pong = frame.unmaskedData
            let data = pong.readSlice(length: pong.readableBytes) ?? context.channel.allocator.buffer(capacity: 0)
            context.writeAndFlush(NIOAny(WebSocketFrame(fin: true, opcode: .pong, data: data)), promise: nil)
        default:
            break
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { core.finishInput(); return }
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            fail("idle timeout: nothing received for \(core.server.configuration.idleTimeoutSeconds) s")
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        core.writabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if core.mayRead() { context.read() }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is NIOWebSocketError { fail("bad WebSocket frame: \(error)"); return }
        core.end()
        context.close(promise: nil)
    }

    private func send(_ kind: MessageKind, _ payload: [UInt8]) {
        payload.withUnsafeBytes { send(kind, $0) }
    }

    private func send(_ kind: MessageKind, _ payload: UnsafeRawBufferPointer) {
        guard let context, !closing || kind == .error else { return }
        var buffer = context.channel.allocator.buffer(capacity: payload.count + 1)
        buffer.writeInteger(kind.rawValue)
        buffer.writeBytes(payload)
        core.server.statistics.sent(buffer.readableBytes)
        context.writeAndFlush(NIOAny(WebSocketFrame(fin: true, opcode: .binary, data: buffer)), promise: nil)
    }

    private func fail(_ reason: String, protocolError: Bool = true) {
        guard !closing else { return }
        if protocolError { core.server.statistics.protocolError() }
        send(.error, Array(reason.utf8))
        closeSocket(code: protocolError ? .protocolError : .unexpectedServerError)
    }

    private func closeSocket(code: WebSocketErrorCode) {
        guard !closing, let context else { return }
        closing = true
        core.end()
        var data = context.channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: code)
        let channel = context.channel
        context.writeAndFlush(NIOAny(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
