import NIOCore
import NIOHTTP1
import WebClient

/// Plain HTTP on the server's port: the browser page (`WebClientAssets`: `/`, its script and
/// its audio worklets), 403 or 401 for a refused `/api/chat` upgrade (`AccessPolicy`) and
/// 404 for anything else. One response per connection, then close.
/// (Only GET reaches it: the sniffer hands a connection to HTTP on "GET ".)
final class WebPageHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var request: HTTPRequestHead?
    private let access: AccessPolicy

    init(access: AccessPolicy = AccessPolicy()) { self.access = access }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break
        case .end: respond(context: context)
        }
    }

    private func respond(context: ChannelHandlerContext) {
        let path = request.map { $0.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? $0.uri } ?? "/"
        let status: HTTPResponseStatus
        let contentType: String
        let body: [UInt8]
        if path == WebSocketChat.path, let request, let refusal = access.refusal(of: request) {
            (status, contentType, body) = (refusal.status, "text/plain; charset=utf-8", Array("moshi serve: \(refusal.reason)\n".utf8))
        } else if let asset = WebClientAssets.asset(at: path) {
            (status, contentType, body) = (.ok, asset.contentType, asset.body)
        } else {
            let text = "moshi serve: no such page; the browser client is at /, WebSocket conversations at \(WebSocketChat.path)\n"
            (status, contentType, body) = (.notFound, "text/plain; charset=utf-8", Array(text.utf8))
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Cache-Control", value: "no-cache")
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
