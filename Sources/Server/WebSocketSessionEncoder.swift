import NIOCore
import NIOWebSocket

/// A session's output in Kyutai's WebSocket protocol: binary messages whose first byte is the
/// kind. `ready` is the handshake `0x00` with Kyutai's 8 zero bytes (protocol and model
/// version), then `0x01` + Ogg Opus pages (24 kHz mono) and `0x02` + UTF-8 text. A failure is
/// an error message (`0x05` + the reason) and a Close with protocolError (the client's fault)
/// or unexpectedServerError; the end is a Close with normalClosure.
final class WebSocketSessionEncoder: ChannelOutboundHandler {
    typealias OutboundIn = SessionOutput
    typealias OutboundOut = WebSocketFrame

    private let statistics: ServerStatistics

    init(statistics: ServerStatistics) {
        self.statistics = statistics
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let output = unwrapOutboundIn(data)
        if output.withMessage({ send($0, $1, context: context, promise: promise) }) != nil { return }
        switch output {
        case .ready:
            send(.handshake, [UInt8](repeating: 0, count: 8), context: context, promise: promise)
        case .audio, .text, .metadata, .pong:
            break  // sent above
        case .failure(let reason, let protocolError):
            send(.error, Array(reason.utf8), context: context, promise: nil)
            close(code: protocolError ? .protocolError : .unexpectedServerError, context: context, promise: promise)
        case .end, .disconnect:
            close(code: .normalClosure, context: context, promise: promise)
        }
    }

    private func send(_ kind: MessageKind, _ payload: [UInt8], context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        payload.withUnsafeBytes { send(kind, $0, context: context, promise: promise) }
    }

    private func send(_ kind: MessageKind, _ payload: UnsafeRawBufferPointer, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        var buffer = context.channel.allocator.buffer(capacity: payload.count + 1)
        buffer.writeInteger(kind.rawValue)
        buffer.writeBytes(payload)
        statistics.sent(buffer.readableBytes)
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .binary, data: buffer)), promise: promise)
    }

    private func close(code: WebSocketErrorCode, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        var data = context.channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: code)
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: promise)
    }
}
