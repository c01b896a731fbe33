import Dispatch
import Logging
import NIOSSL
import Synchronization

/// What every connection of one server shares: the configuration, the conversation factory,
/// the compute queues, the counters and the table of open sessions (for `max_sessions` and
/// for draining at shutdown). Safe from any thread.
final class ServerContext: Sendable {
    let configuration: ServerConfiguration
    let factory: ConversationFactory
    let statistics: ServerStatistics
    let logger: Logger
    /// TLS for clients that ask for it (from `configuration.tls`), or nil.
    let tlsContext: NIOSSLContext?
    /// The serial compute queues sessions take turns on (one, the batch's, when batched).
    let queues: [DispatchQueue]
    /// The lockstep batch every session joins, when the factory batches and the configuration
    /// allows it.
    let batch: SessionBatch?
    private let sessions = Mutex(Table())

    private struct Table {
        var nextID = 0
        var drains: [Int: @Sendable () -> Void] = [:]
        var draining = false
    }

    init(configuration: ServerConfiguration, factory: ConversationFactory, statistics: ServerStatistics, logger: Logger) throws {
        tlsContext = try configuration.tls.map { identity throws(TLSIdentityError) in try identity.makeContext() }
        self.configuration = configuration
        self.factory = factory
        self.statistics = statistics
        self.logger = logger
        if configuration.batching, let batching = factory as? BatchingConversationFactory {
            let queue = DispatchQueue(label: "moshi.server.batch", qos: .userInteractive)
            let scheduler = try batching.makeBatchScheduler(capacity: max(1, configuration.maximumSessions))
            batch = SessionBatch(scheduler: scheduler, queue: queue)
            queues = [queue]
        } else {
            batch = nil
            queues = (0..<max(1, configuration.computeQueues)).map {
                DispatchQueue(label: "moshi.server.compute.\($0)", qos: .userInteractive)
            }
        }
    }

    /// Runs `frames` silent frames through the batch (if any) before the first client, on its queue.
    func warmUpBatch(frames: Int) {
        guard let batch else { return }
        batch.queue.sync { batch.warmUp(frames: frames) }
    }

    /// Takes a session slot, or nil when `maximumSessions` are open or the server is draining.
    /// `drain` is called (from any thread) when the server shuts down.
    func acquireSession(drain: @escaping @Sendable () -> Void) -> (id: Int, queue: DispatchQueue)? {
        let id: Int? = sessions.withLock { table in
            guard !table.draining, table.drains.count < configuration.maximumSessions else { return nil }
            let id = table.nextID
            table.nextID += 1
            table.drains[id] = drain
            return id
        }
        guard let id else {
            statistics.sessionRejected()
            return nil
        }
        statistics.sessionOpened()
        return (id, queues[id % queues.count])
    }

    /// Gives a slot back (idempotent per id).
    func releaseSession(_ id: Int) {
        let removed = sessions.withLock { $0.drains.removeValue(forKey: id) != nil }
        if removed { statistics.sessionClosed() }
    }

    /// Refuses new sessions and asks every open one to finish; returns how many were asked.
    func drainAll() -> Int {
        let drains = sessions.withLock { table in
            table.draining = true
            return Array(table.drains.values)
        }
        for drain in drains { drain() }
        return drains.count
    }

    var activeSessions: Int { sessions.withLock { $0.drains.count } }
}
