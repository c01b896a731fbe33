import Foundation
import NIOCore

/// A connection speaking the framed protocol (Docs/PROTOCOL.md): preamble and handshake, then
/// audio (one Opus packet per message) both ways, the model's text, pings; errors end it.
final class FramedConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let core: SessionCore
    private var decoder: FramedDecoder
    private var context: ChannelHandlerContext?
    private var sentPreamble = false
    private var closing = false

    init(server: ServerContext, channel: Channel) {
        core = SessionCore(server: server, channel: channel)
        decoder = FramedDecoder(maximumPayload: server.configuration.maximumMessageBytes)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        core.sendAudio = { [unowned self] bytes in
            guard core.admitAudio() else { return }
            send(.audio, bytes)
        }
        core.sendText = { [unowned self] text in
            var text = text
            text.withUTF8 { send(.text, UnsafeRawBufferPointer($0)) }
        }
        core.sendMetadata = { [unowned self] json in send(.metadata, json) }
        core.onReady = { [unowned self] in
            let reply: [String: Any] = ["version": Int(FramedProtocol.version), "sample_rate": 24000, "frame_ms": 80,
                                        "model": core.server.factory.modelDescription]
            let json = (try? JSONSerialization.data(withJSONObject: reply, options: [.sortedKeys])).map { [UInt8]($0) } ?? []
            json.withUnsafeBytes { send(.handshake, $0) }
        }
        core.onFailed = { [unowned self] reason in fail(reason) }
        core.onFinished = { [unowned self] in
            send(.control, [1])  // end of stream
            closeAfterFlush()
        }
        core.resumeRead = { [unowned self] in self.context?.read() }
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
        let buffer = unwrapInboundIn(data)
        core.server.statistics.received(buffer.readableBytes)
        decoder.push(buffer.readableBytesView)
        do {
            while let message = try decoder.next() {
                handle(message)
                if closing { return }
            }
        } catch {
            fail(error.description)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            do {
                try decoder.finish()
                if core.isOpen { core.finishInput() } else { closeAfterFlush() }
            } catch {
                fail(error.description)
            }
            return
        }
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
        core.end()
        context.close(promise: nil)
    }

    private func handle(_ message: FramedMessage) {
        switch message.kind {
        case .handshake:
            guard !core.isOpen else { fail("a second handshake"); return }
            let options: SessionOptions
            do { options = try SessionOptions(json: message.payload) } catch { fail(error.description); return }
            guard core.server.configuration.access.accepts(token: options.token) else {
                core.server.statistics.sessionRejected(.unauthorized)
                core.server.logger.notice("refused a framed client: \(options.token == nil ? "no token" : "wrong token")")
                fail(options.token == nil ? "unauthorized: this server needs a token (\"token\" in the handshake JSON)" : "unauthorized: wrong token",
                     protocolError: false)
                return
            }
            guard core.open(options: options, input: .opusPackets, output: .opusPackets) else {
                fail("server busy: \(core.server.configuration.maximumSessions) session(s) already open", protocolError: false)
                return
            }
        case .audio:
            guard core.isOpen else { fail("audio before the handshake"); return }
            core.pushAudio(message.payload)
        case .ping:
            send(.ping, message.payload)
        case .control, .text, .metadata:
            break  // accepted and ignored
        case .error:
            core.server.logger.info("client error: \(message.text)")
            closeAfterFlush()
        }
    }

    private func send(_ kind: MessageKind, _ payload: [UInt8]) {
        payload.withUnsafeBytes { send(kind, $0) }
    }

    private func send(_ kind: MessageKind, _ payload: UnsafeRawBufferPointer) {
        guard let context, !closing || kind == .error || kind == .control else { return }
        var buffer = context.channel.allocator.buffer(capacity: FramedProtocol.preambleLength + FramedProtocol.headerLength + payload.count)
        if !sentPreamble {
            sentPreamble = true
            buffer.writeBytes(FramedProtocol.preamble)
        }
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(UInt32(payload.count), endianness: .big)
        buffer.writeBytes(payload)
        core.server.statistics.sent(buffer.readableBytes)
        context.writeAndFlush(NIOAny(buffer), promise: nil)
    }

    /// Sends an error message, then closes; the session's resources are freed at once.
    private func fail(_ reason: String, protocolError: Bool = true) {
        guard !closing else { return }
        if protocolError { core.server.statistics.protocolError() }
        core.server.logger.debug("closing a framed connection: \(reason)")
        send(.error, Array(reason.utf8))
        closeAfterFlush()
    }

    private func closeAfterFlush() {
        guard !closing, let context else { return }
        closing = true
        core.end()
        let channel = context.channel
        context.writeAndFlush(NIOAny(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
