import NIOCore

/// A connection whose first bytes were `OggS`: a bare Ogg Opus stream in, a bare Ogg Opus
/// stream out (OpusHead, OpusTags, one page per 80 ms packet, an end-of-stream page when the
/// client's stream ends), so `ffmpeg ... -f ogg - | socat - TCP:host:port > reply.ogg` is a
/// client. There is no channel for errors: a refused connection is just closed.
final class OggConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let core: SessionCore
    private var context: ChannelHandlerContext?
    private var closing = false
    private var rejected = false

    init(server: ServerContext, channel: Channel) {
        core = SessionCore(server: server, channel: channel)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        core.sendAudio = { [unowned self] bytes in
            // Dropping pages of an Ogg stream is safe for players (the granule positions still
            // count the audio); headers and the end page are always sent.
            guard core.admitAudio() || bytes.count > 5 && bytes[5] & 0x06 != 0 else { return }
            write(bytes)
        }
        core.onFailed = { [unowned self] reason in
            core.server.statistics.protocolError()
            core.server.logger.debug("closing an Ogg connection: \(reason)")
            closeAfterFlush()
        }
        core.onFinished = { [unowned self] in closeAfterFlush() }
        core.resumeRead = { [unowned self] in self.context?.read() }
        if !core.open(options: SessionOptions(), input: .ogg, output: .ogg) {
            rejected = true
            core.server.logger.info("Ogg client refused: server busy")
            closeAfterFlush()
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
        let buffer = unwrapInboundIn(data)
        core.server.statistics.received(buffer.readableBytes)
        core.pushAudio(Array(buffer.readableBytesView))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            core.finishInput()
            return
        }
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            closeAfterFlush()
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

    private func write(_ bytes: [UInt8]) {
        guard let context, !closing else { return }
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        core.server.statistics.sent(bytes.count)
        context.writeAndFlush(NIOAny(buffer), promise: nil)
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
