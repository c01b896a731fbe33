#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix

/// `moshi serve`'s server: one TCP port, three protocols (framed, plain Ogg Opus, Kyutai's
/// WebSocket on /api/chat; Docs/PROTOCOL.md), one conversation per connection from `factory`,
/// at most `configuration.maximumSessions` at once. Model work runs on compute queues, never
/// on the event loops.
package final class MoshiServer: Sendable {
    package let configuration: ServerConfiguration
    /// Live counters (sessions, frames, drops, bytes, time per frame).
    package let statistics: ServerStatistics
    private let context: ServerContext
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let liveness = LivenessProbe()

    /// Binds and starts accepting. Throws when the address cannot be bound.
    /// - Parameter metrics: where the Prometheus counters go (shared with a `HealthServer`).
    package init(configuration: ServerConfiguration, factory: ConversationFactory, metrics: ServerMetrics = ServerMetrics(),
                logger: Logger = Logger(label: "moshi.server")) throws {
        if let exposure = configuration.exposureError { throw exposure }
        self.configuration = configuration
        statistics = ServerStatistics(metrics: metrics)
        context = try ServerContext(configuration: configuration, factory: factory, statistics: statistics, logger: logger)
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads))
        let context = self.context
        let highWater = max(1024, configuration.sendQueueHighWaterBytes)
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: highWater / 2, high: highWater))
        if let sendBuffer = configuration.socketSendBufferBytes {
            bootstrap = bootstrap.childChannelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(sendBuffer))
        }
        let idle = configuration.idleTimeoutSeconds
        bootstrap = bootstrap.childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                if idle > 0 {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .milliseconds(Int64(idle * 1000))))
                }
                try channel.pipeline.syncOperations.addHandler(ProtocolSniffer(server: context))
            }
        }
        do {
            channel = try bootstrap.bind(host: configuration.host, port: configuration.port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        logger.info("listening on \(channel.localAddress?.description ?? "?")")
    }

    /// Runs `frames` silent frames through the session batch (when sessions are batched), so the
    /// batched code paths are warm before the first client. Call it before reporting ready.
    package func warmUpBatch(frames: Int) { context.warmUpBatch(frames: frames) }

    /// Whether sessions are stepped together in one lockstep batch.
    package var isBatching: Bool { context.batch != nil }

    /// The bound port (useful with port 0).
    package var port: Int { channel.localAddress?.port ?? configuration.port }

    /// Sessions open now.
    package var activeSessions: Int { context.activeSessions }

    /// The watchdog's question: did every event loop and every compute queue run the probe
    /// posted at the previous call? Then a new probe is posted to each and the answer is true.
    /// While any is still outstanding (a loop or a compute path stuck since the previous call)
    /// the answer is false and no new probe is posted. What clients do (silent, slow, none at
    /// all) does not change the answer. The first call is always true.
    package func answersLivenessProbe() -> Bool {
        var loops: [any EventLoop] = []
        for loop in group.makeIterator() { loops.append(loop) }
        return liveness.check(loops: loops, queues: context.queues)
    }

    /// Stops accepting, asks every session to finish its current frame, send the end of its
    /// stream and close, waits up to `configuration.drainTimeoutSeconds`, then closes what is
    /// left and stops the event loops. Blocks; call it off the event loops.
    package func shutdown() {
        try? channel.close().wait()
        let asked = context.drainAll()
        if asked > 0 {
            let deadline = NIODeadline.now() + .milliseconds(Int64(configuration.drainTimeoutSeconds * 1000))
            while context.activeSessions > 0, NIODeadline.now() < deadline {
                usleep(20_000)
            }
        }
        try? group.syncShutdownGracefully()
    }

    /// Blocks until the listening socket is closed (by `shutdown`).
    package func waitUntilClosed() {
        try? channel.closeFuture.wait()
    }
}
