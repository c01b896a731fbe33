import NIOCore

/// The framed protocol's input (Docs/PROTOCOL.md) as session events: the preamble, then
/// messages of kind + u32 length + payload (`FramedDecoder`). The handshake opens the session
/// (its JSON gives the options and the token), audio and pings follow, a client's error
/// message ends the connection. A stream that breaks the protocol (bad preamble, unknown kind,
/// oversized or truncated message, bad handshake JSON, a second handshake) gives `malformed`
/// once, and nothing after it.
final class FramedSessionDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = SessionEvent

    /// Where the framed protocol carries the token, for a refusal.
    static let tokenHint = "\"token\" in the handshake JSON"

    private let statistics: ServerStatistics
    private var decoder: FramedDecoder
    private var opened = false
    private var failed = false

    init(maximumPayload: Int, statistics: ServerStatistics) {
        self.statistics = statistics
        decoder = FramedDecoder(maximumPayload: maximumPayload)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let buffer = unwrapInboundIn(data)
        statistics.received(buffer.readableBytes)
        decoder.push(buffer.readableBytesView)
        do {
            while !failed, let message = try decoder.next() {
                handle(message, context: context)
            }
        } catch {
            malformed(error.description, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event, !failed {
            do { try decoder.finish() } catch {
                malformed(error.description, context: context)
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func handle(_ message: FramedMessage, context: ChannelHandlerContext) {
        switch message.kind {
        case .handshake:
            guard !opened else { malformed("a second handshake", context: context); return }
            let options: SessionOptions
            do { options = try SessionOptions(json: message.payload) } catch {
                malformed(error.description, context: context)
                return
            }
            opened = true
            let request = SessionRequest(options: options, credential: .presented(options.token, hint: Self.tokenHint),
                                         input: .opusPackets, output: .opusPackets)
            context.fireChannelRead(wrapInboundOut(.open(request)))
        case .audio:
            context.fireChannelRead(wrapInboundOut(.audio(message.payload)))
        case .ping:
            context.fireChannelRead(wrapInboundOut(.ping(message.payload)))
        case .control, .text, .metadata:
            break  // accepted and ignored
        case .error:
            context.fireChannelRead(wrapInboundOut(.clientError(message.text)))
        }
    }

    private func malformed(_ reason: String, context: ChannelHandlerContext) {
        failed = true
        context.fireChannelRead(wrapInboundOut(.malformed(reason)))
    }
}
