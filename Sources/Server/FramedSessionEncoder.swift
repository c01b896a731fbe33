import Foundation
import NIOCore

/// A session's output in the framed protocol (Docs/PROTOCOL.md): the preamble before the
/// first message, then kind + u32 big-endian length + payload. `ready` is the handshake reply
/// (a JSON object: protocol version, sample rate, frame length, the model), a pong is a ping
/// message with the client's payload, a failure an error message, the end a control message
/// (end of stream).
final class FramedSessionEncoder: ChannelOutboundHandler {
    typealias OutboundIn = SessionOutput
    typealias OutboundOut = ByteBuffer

    private let statistics: ServerStatistics
    private var sentPreamble = false

    init(statistics: ServerStatistics) {
        self.statistics = statistics
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let output = unwrapOutboundIn(data)
        if output.withMessage({ send($0, $1, context: context, promise: promise) }) != nil { return }
        switch output {
        case .ready(let model):
            let reply: [String: Any] = ["version": Int(FramedProtocol.version), "sample_rate": 24000, "frame_ms": 80, "model": model]
            let json = (try? JSONSerialization.data(withJSONObject: reply, options: [.sortedKeys])).map { [UInt8]($0) } ?? []
            send(.handshake, json, context: context, promise: promise)
        case .audio, .text, .metadata, .pong:
            break  // sent above
        case .failure(let reason, _):
            send(.error, Array(reason.utf8), context: context, promise: promise)
        case .end:
            send(.control, [1], context: context, promise: promise)  // end of stream
        case .disconnect:
            context.write(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise)
        }
    }

    private func send(_ kind: MessageKind, _ payload: [UInt8], context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        payload.withUnsafeBytes { send(kind, $0, context: context, promise: promise) }
    }

    private func send(_ kind: MessageKind, _ payload: UnsafeRawBufferPointer, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        var buffer = context.channel.allocator.buffer(capacity: FramedProtocol.preambleLength + FramedProtocol.headerLength + payload.count)
        if !sentPreamble {
            sentPreamble = true
            buffer.writeBytes(FramedProtocol.preamble)
        }
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(UInt32(payload.count), endianness: .big)
        buffer.writeBytes(payload)
        statistics.sent(buffer.readableBytes)
        context.write(wrapOutboundOut(buffer), promise: promise)
    }
}
