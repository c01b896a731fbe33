import NIOCore

/// A session's output as a bare Ogg Opus stream (OpusHead, OpusTags, one page per 80 ms
/// packet, an end-of-stream page when the client's stream ends), so `ffmpeg ... -f ogg - |
/// socat - TCP:host:port > reply.ogg` is a client. The stream has no room for anything but
/// audio, and no channel for errors: a failure or a refusal just ends the connection.
final class OggSessionEncoder: ChannelOutboundHandler {
    typealias OutboundIn = SessionOutput
    typealias OutboundOut = ByteBuffer

    private let statistics: ServerStatistics

    init(statistics: ServerStatistics) {
        self.statistics = statistics
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .audio(let pages):
            statistics.sent(pages.readableBytes)
            context.write(wrapOutboundOut(pages), promise: promise)
        case .ready, .text, .metadata, .pong, .failure, .end, .disconnect:
            // Nothing to write; a promise (the last output's, before the close) still completes
            // only after what was written before it.
            if let promise { context.write(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise) }
        }
    }
}
