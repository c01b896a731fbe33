import NIOCore
import NIOHTTP1
import NIOSSL
import NIOWebSocket

/// The first handler of every connection: reads the first four bytes and hands the connection
/// to the protocol they announce: "MOSH" the framed protocol, "OggS" plain Ogg Opus (for each,
/// the protocol's decoder and encoder and a `SessionHandler`), "GET " an HTTP request (Kyutai's
/// WebSocket protocol on /api/chat, `WebSocketChat`; the browser page at /). A TLS
/// ClientHello (first byte 0x16) on a server with a certificate gets TLS, and the decrypted
/// stream is sniffed again: every protocol works with or without TLS on the one port.
/// Anything else gets a framed error message and is closed.
final class ProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// What the first bytes announce.
    enum Kind: Equatable {
        case framed, ogg, http, tls, unknown
    }

    private let server: ServerContext
    /// Whether this sniffer reads the decrypted side of a TLS connection (no TLS in TLS).
    private let underTLS: Bool
    private var buffered: ByteBuffer?
    private var decided = false

    init(server: ServerContext, underTLS: Bool = false) {
        self.server = server
        self.underTLS = underTLS
    }

    /// The protocol that `prefix` (the first bytes, up to four) announces, or nil when more
    /// bytes are needed to tell.
    static func classify(_ prefix: [UInt8]) -> Kind? {
        if prefix.first == 0x16 { return .tls }   // TLS handshake record (ClientHello)
        let candidates: [(Kind, [UInt8])] = [(.framed, FramedProtocol.magic), (.ogg, Array("OggS".utf8)), (.http, Array("GET ".utf8))]
        for (kind, magic) in candidates where prefix.elementsEqual(magic.prefix(prefix.count)) {
            return prefix.count >= magic.count ? kind : nil
        }
        return .unknown
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        guard !decided else { context.fireChannelRead(data); return }
        if buffered == nil { buffered = incoming } else { buffered!.writeBuffer(&incoming) }
        let prefix = Array(buffered!.readableBytesView.prefix(4))
        guard let kind = Self.classify(prefix) else { return }
        decide(kind == .tls && underTLS ? .unknown : kind, context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if !decided, case ChannelEvent.inputClosed = event {
            // Closed before saying anything recognisable.
            context.close(promise: nil)
            return
        }
        if !decided, let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func decide(_ kind: Kind, context: ChannelHandlerContext) {
        decided = true
        let channel = context.channel
        do {
            switch kind {
            case .framed:
                try context.pipeline.syncOperations.addSession(
                    decoder: FramedSessionDecoder(maximumPayload: server.configuration.maximumMessageBytes, statistics: server.statistics),
                    encoder: FramedSessionEncoder(statistics: server.statistics), server: server, protocolName: "framed")
            case .ogg:
                try context.pipeline.syncOperations.addSession(
                    decoder: OggSessionDecoder(requiresToken: server.configuration.access.requiresToken, statistics: server.statistics),
                    encoder: OggSessionEncoder(statistics: server.statistics), server: server, protocolName: "Ogg")
            case .http:
                try WebSocketChat.configureHTTP(pipeline: context.pipeline, server: server)
            case .tls:
                guard let tls = server.tlsContext else {
                    server.statistics.protocolError()
                    server.logger.info("closing a TLS connection: this server has no certificate (moshi serve --tls-cert/--tls-key or --tls-self-signed)")
                    context.close(promise: nil)
                    return
                }
                // TLS, then a fresh sniffer on the decrypted bytes; the ClientHello read so far
                // goes in again from the head of the pipeline.
                let ssl = NIOSSLServerHandler(context: tls)
                try context.pipeline.syncOperations.addHandler(ssl, position: .before(self))
                try context.pipeline.syncOperations.addHandler(ProtocolSniffer(server: server, underTLS: true), position: .after(ssl))
                let hello = buffered
                buffered = nil
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                if let hello { channel.pipeline.fireChannelRead(hello) }
                return
            case .unknown:
                server.statistics.protocolError()
                let bytes = Array(buffered?.readableBytesView.prefix(4) ?? [])
                let reason = FramedProtocolError.badMagic(bytes).description + "; expected \"MOSH\" (framed), \"OggS\" (Ogg Opus) or an HTTP GET"
                var reply = channel.allocator.buffer(capacity: 64)
                reply.writeBytes(FramedProtocol.preamble + FramedProtocol.encode(.error, text: reason))
                context.writeAndFlush(NIOAny(reply)).whenComplete { _ in channel.close(promise: nil) }
                return
            }
        } catch {
            context.close(promise: nil)
            return
        }
        if let buffered { context.fireChannelRead(NIOAny(buffered)) }
        buffered = nil
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
