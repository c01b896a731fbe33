import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A small HTTP/1.1 server on its own port (`server.metrics_port`, default 9898, on 127.0.0.1) that
/// answers `GET /healthz` and `GET /metrics` (see `HealthRoutes`) and 404 otherwise.
///
/// It runs on SwiftNIO event loops and never blocks its caller or the frame loop: a request reads
/// atomics and renders text. Each connection gets one response and is closed (no keep-alive), a
/// request larger than `maxRequestBytes` gets 413, a connection idle for `idleTimeout` is closed,
/// and at most `maxConnections` are open at once (more are closed on accept).
package final class HealthServer: Sendable {
    /// Where and how it listens.
    package struct Configuration: Sendable, Equatable {
        /// Address to bind; 127.0.0.1 unless told otherwise.
        package var host = "127.0.0.1"
        /// TCP port; 0 picks a free one (tests).
        package var port = 9898
        /// Largest request (request line, headers and body) accepted, bytes.
        package var maxRequestBytes = 8_192
        /// Connections served at once; more are closed on accept.
        package var maxConnections = 64
        /// A connection that sends nothing for this long is closed.
        package var idleTimeout = TimeAmount.seconds(10)

        package init(host: String = "127.0.0.1", port: Int = 9898) {
            self.host = host
            self.port = port
        }
    }

    /// Errors from `start`.
    package enum StartError: Error, Sendable, CustomStringConvertible {
        case alreadyStarted
        case bindFailed(host: String, port: Int, reason: String)

        package var description: String {
            switch self {
            case .alreadyStarted: "the health server is already running"
            case let .bindFailed(host, port, reason): "cannot listen on \(host):\(port) for /healthz and /metrics: \(reason)"
            }
        }
    }

    package let configuration: Configuration
    package let routes: HealthRoutes
    private let group: any EventLoopGroup
    private let listener = Mutex<(any Channel)?>(nil)
    private let openConnections = ConnectionCount()

    /// A server answering `routes`; nothing listens until `start`.
    package init(configuration: Configuration = Configuration(), routes: HealthRoutes,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.routes = routes
        self.group = group
    }

    /// Binds and starts serving; returns the bound port (useful with port 0).
    @discardableResult
    package func start() async throws -> Int {
        let configuration = configuration
        let routes = routes
        let connections = openConnections
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard connections.tryAcquire(limit: configuration.maxConnections) else {
                        channel.close(promise: nil)
                        return
                    }
                    channel.closeFuture.whenComplete { _ in connections.release() }
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(RequestSizeLimiter(maxBytes: configuration.maxRequestBytes))
                    try sync.addHandler(IdleStateHandler(readTimeout: configuration.idleTimeout))
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
                    try sync.addHandler(HealthHTTPHandler(routes: routes))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            throw StartError.bindFailed(host: configuration.host, port: configuration.port, reason: "\(error)")
        }
        let stored = listener.withLock { current -> Bool in
            guard current == nil else { return false }
            current = channel
            return true
        }
        guard stored else {
            try? await channel.close()
            throw StartError.alreadyStarted
        }
        return channel.localAddress?.port ?? configuration.port
    }

    /// The bound port while running.
    package var port: Int? { listener.withLock { $0?.localAddress?.port } }

    /// Stops listening (connections in progress finish on their own).
    package func stop() async {
        let channel = listener.withLock { current -> (any Channel)? in
            defer { current = nil }
            return current
        }
        try? await channel?.close()
    }

    /// Connections open now (tests).
    package var connectionCount: Int { openConnections.value }
}

/// Counts open connections against a limit.
final class ConnectionCount: Sendable {
    private let count = Atomic<Int>(0)

    func tryAcquire(limit: Int) -> Bool {
        var current = count.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = count.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release() { count.subtract(1, ordering: .relaxed) }

    var value: Int { count.load(ordering: .relaxed) }
}

/// Closes a connection that sends more than `maxBytes` before its response, with a raw 413.
/// Sits in front of the HTTP decoder, so it bounds headers as well as bodies.
final class RequestSizeLimiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let maxBytes: Int
    private var received = 0
    private var tripped = false

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !tripped else { return }
        let buffer = unwrapInboundIn(data)
        received += buffer.readableBytes
        guard received <= maxBytes else {
            tripped = true
            let text = "HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 18\r\nConnection: close\r\n\r\nrequest too large\n"
            let reply = context.channel.allocator.buffer(string: text)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        context.fireChannelRead(data)
    }
}

/// Answers one HTTP request per connection from `HealthRoutes`, then closes.
final class HealthHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: HealthRoutes
    private var head: HTTPRequestHead?
    private var responded = false

    init(routes: HealthRoutes) { self.routes = routes }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
        case .body:
            break  // bounded by RequestSizeLimiter; the routes take no body
        case .end:
            guard let head, !responded else { return }
            responded = true
            let response = routes.respond(method: head.method.rawValue, uri: head.uri)
            write(response, includeBody: head.method != .HEAD, version: head.version, context: context)
        }
    }

    /// A malformed request (NIO's error handler has already answered 400) or a socket error.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func write(_ response: HealthResponse, includeBody: Bool, version: HTTPVersion, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "Connection", value: "close")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        let status = HTTPResponseStatus(statusCode: response.status, reasonPhrase: response.reason)
        let responseHead = HTTPResponseHead(version: version.major == 1 ? version : .http1_1, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if includeBody && !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
