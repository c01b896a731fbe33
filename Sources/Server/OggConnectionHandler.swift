import AudioIO
import NIOCore

private enum OpusTagsMagic { static let bytes = OpusTags.magic }

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
    /// The stream's first bytes while the token is checked.
    private var held: [UInt8] = []

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
        // With a token required, the session opens once the stream's OpusTags carry it.
        if !core.server.configuration.access.requiresToken { open() }
    }

    private func open() {
        if !core.open(options: SessionOptions(), input: .ogg, output: .ogg) {
            rejected = true
            core.server.logger.info("Ogg client refused: server busy")
            closeAfterFlush()
        }
    }

    /// What the stream's first bytes say about the token.
    enum TokenScan: Equatable {
        /// The OpusTags packet is not complete yet.
        case needMore
        /// The OpusTags packet, and the value of its `MOSHI_TOKEN` comment (nil: none).
        case tags(token: String?)
    }

    /// Finds the OpusTags packet in the first bytes of an Ogg stream (it follows the OpusHead
    /// page; encoders put it on one page of its own) and reads its `MOSHI_TOKEN=` comment
    /// (key without case, as Vorbis comments are): `ffmpeg -metadata moshi_token=SECRET` writes it.
    static func scanToken(_ bytes: [UInt8]) -> TokenScan {
        let magic = OpusTagsMagic.bytes
        guard bytes.count >= magic.count, let start = (0...(bytes.count - magic.count)).first(where: { i in
            bytes[i..<(i + magic.count)].elementsEqual(magic)
        }) else { return .needMore }
        var offset = start + magic.count
        func u32() -> Int? {
            guard offset + 4 <= bytes.count else { return nil }
            defer { offset += 4 }
            return Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
        }
        guard let vendorLength = u32() else { return .needMore }
        offset += vendorLength
        guard let count = u32() else { return .needMore }
        for _ in 0..<min(count, 1024) {
            guard let length = u32() else { return .needMore }
            guard offset + length <= bytes.count else { return .needMore }
            let comment = String(decoding: bytes[offset..<(offset + length)], as: UTF8.self)
            offset += length
            let key = "moshi_token="
            if comment.lowercased().hasPrefix(key) { return .tags(token: String(comment.dropFirst(key.count))) }
        }
        return .tags(token: nil)
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
        guard core.isOpen || rejected else { authenticate(buffer); return }
        core.pushAudio(Array(buffer.readableBytesView))
    }

    /// Holds the stream's first bytes until its OpusTags show the token, then opens the
    /// session with them; a missing or wrong token closes the connection.
    private func authenticate(_ buffer: ByteBuffer) {
        held += buffer.readableBytesView
        let scan = Self.scanToken(held)
        if scan == .needMore, held.count <= ConversationPipeline.oggSearchLimit { return }
        let token: String? = if case .tags(let token) = scan { token } else { nil }
        guard core.server.configuration.access.accepts(token: token) else {
            rejected = true
            core.server.statistics.sessionRejected(.unauthorized)
            core.server.logger.notice("refused an Ogg client: \(token == nil ? "no MOSHI_TOKEN comment in its OpusTags" : "wrong token")")
            closeAfterFlush()
            return
        }
        open()
        guard core.isOpen else { return }
        core.pushAudio(held)
        held = []
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            if !core.isOpen { closeAfterFlush(); return }
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

    private func write(_ bytes: UnsafeRawBufferPointer) {
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
