import NIOCore
import NIOWebSocket

/// Kyutai's WebSocket protocol on `/api/chat` (`WebSocketChat`) as session events. The session
/// opens when the decoder is added (the upgrade checked the token; the options come from the
/// request's query). Binary messages start with a kind byte: `0x01` + Ogg Opus pages is audio,
/// `0x06` a ping; Kyutai's servers ignore the other kinds from a client. WebSocket pings are
/// answered here; a Close asks the session to end (anything after it is ignored); a bad frame
/// is `malformed`.
final class WebSocketSessionDecoder: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = SessionEvent
    typealias OutboundOut = WebSocketFrame

    private let options: Result<SessionOptions, SessionOptionsError>
    private let statistics: ServerStatistics
    /// The client sent a Close: nothing it sends after it counts (RFC 6455 5.5.1).
    private var closeReceived = false

    /// `uri`: the upgraded request's, whose query has the sampling options.
    init(uri: String, statistics: ServerStatistics) {
        options = Result { () throws(SessionOptionsError) -> SessionOptions in try SessionOptions(query: WebSocketChat.query(of: uri)) }
        self.statistics = statistics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        switch options {
        case .failure(let error):
            context.fireChannelRead(wrapInboundOut(.malformed(error.description)))
        case .success(let options):
            let request = SessionRequest(options: options, credential: .checked, input: .ogg, output: .ogg)
            context.fireChannelRead(wrapInboundOut(.open(request)))
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closeReceived else { return }
        let frame = unwrapInboundIn(data)
        statistics.received(frame.length)
        switch frame.opcode {
        case .binary:
            var payload = frame.unmaskedData
            guard let kindByte = payload.readInteger(as: UInt8.self) else { return }
            switch MessageKind(rawValue: kindByte) {
            case .audio: context.fireChannelRead(wrapInboundOut(.audio(Array(payload.readableBytesView))))
            case .ping: context.fireChannelRead(wrapInboundOut(.ping([])))  // answered with an empty ping message
            default: break
            }
        case .connectionClose:
            closeReceived = true
            context.fireChannelRead(wrapInboundOut(.closeRequested))
        case .ping:
            var pong = frame.unmaskedData
            let data = pong.readSlice(length: pong.readableBytes) ?? context.channel.allocator.buffer(capacity: 0)
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: data)), promise: nil)
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is NIOWebSocketError {
            context.fireChannelRead(wrapInboundOut(.malformed("bad WebSocket frame: \(error)")))
        } else {
            context.fireErrorCaught(error)
        }
    }
}
