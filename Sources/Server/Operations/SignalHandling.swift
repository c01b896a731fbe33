import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The daemon's signals, through DispatchSource (no code runs in signal context):
///
/// - `SIGTERM` and `SIGINT`: call `drain` once, then `exit` with `.drained` when it returns, or with
///   `.timedOut` once `drainTimeout` passes, whichever comes first. A second `SIGTERM`/`SIGINT`
///   while draining exits at once with `.forced`.
/// - `SIGHUP`: call `reload` (reopen logs, re-read what can be re-read safely); ignored while draining.
///
/// `install` sets the three signals to `SIG_IGN` (so the default action no longer kills the
/// process) and starts the sources; install it before the slow start-up (model loading), so that a
/// stop request during loading is a drain too.
public final class SignalHandling: @unchecked Sendable {  // sources are touched only under `lock`
    /// How a shutdown ended.
    public enum ShutdownOutcome: Sendable, Equatable {
        /// `drain` returned within the bound.
        case drained
        /// The bound passed first.
        case timedOut
        /// A second terminating signal arrived while draining.
        case forced

        /// The exit status the default exit handler uses: 0 for a drained or timed-out shutdown
        /// (a stop that systemd asked for is not a failure), 128 + signal when forced.
        public func exitStatus(signal: Int32) -> Int32 {
            self == .forced ? 128 + signal : 0
        }
    }

    private enum Phase { case running, draining, finished }

    /// How long `drain` may take before the process exits anyway.
    public let drainTimeout: Duration
    private let queue: DispatchQueue
    private let drain: @Sendable () async -> Void
    private let reload: @Sendable () -> Void
    private let exit: @Sendable (ShutdownOutcome, Int32) -> Void
    private let lock = Mutex<(phase: Phase, sources: [any DispatchSourceSignal])>((.running, []))
    private let reloadCount = Atomic<Int>(0)

    /// The signals handled.
    public static let handledSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP]

    /// Handlers (not installed). `exit` receives the outcome and the signal that started the
    /// shutdown; the default terminates the process with `outcome.exitStatus(signal:)`.
    public init(drainTimeout: Duration = .seconds(10),
                queue: DispatchQueue = DispatchQueue(label: "moshi.signals"),
                drain: @escaping @Sendable () async -> Void,
                reload: @escaping @Sendable () -> Void = {},
                exit: @escaping @Sendable (ShutdownOutcome, Int32) -> Void = SignalHandling.exitProcess) {
        self.drainTimeout = drainTimeout
        self.queue = queue
        self.drain = drain
        self.reload = reload
        self.exit = exit
    }

    /// Terminates the process with `outcome.exitStatus(signal:)` (flushes stdio).
    public static let exitProcess: @Sendable (ShutdownOutcome, Int32) -> Void = { outcome, signal in
        fflush(nil)
        Glibc.exit(outcome.exitStatus(signal: signal))
    }

    /// Starts handling SIGTERM, SIGINT and SIGHUP, and returns once the sources are registered
    /// (a signal that arrived before would be lost). Idempotent.
    public func install() {
        let registered = DispatchGroup()
        lock.withLock { state in
            guard state.sources.isEmpty else { return }
            for signalNumber in Self.handledSignals {
                Self.ignoreIfDefault(signalNumber)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
                source.setEventHandler { [weak self] in self?.handle(signalNumber) }
                registered.enter()
                source.setRegistrationHandler { registered.leave() }
                source.resume()
                state.sources.append(source)
            }
        }
        _ = registered.wait(timeout: .now() + .seconds(2))
    }

    /// Stops handling the signals. They stay ignored: on Linux libdispatch keeps its own
    /// process-wide handler for a signal once a source used it, so the default action cannot be
    /// restored safely.
    public func uninstall() {
        lock.withLock { state in
            for source in state.sources { source.cancel() }
            state.sources.removeAll()
        }
    }

    /// Sets `signalNumber` to `SIG_IGN` if it has its default action, so that it cannot kill the
    /// process before the source is registered. Leaves any other handler alone: libdispatch
    /// installs its own once per signal per process and never again.
    private static func ignoreIfDefault(_ signalNumber: Int32) {
        var current = sigaction()
        guard sigaction(signalNumber, nil, &current) == 0 else { return }
        if current.__sigaction_handler.sa_handler == nil {  // SIG_DFL is the null handler
            signal(signalNumber, SIG_IGN)
        }
    }

    /// Starts a shutdown as if `signalNumber` (SIGTERM by default) had arrived.
    public func requestShutdown(signal signalNumber: Int32 = SIGTERM) {
        queue.async { self.handle(signalNumber) }
    }

    /// Whether a shutdown has started.
    public var isShuttingDown: Bool { lock.withLock { $0.phase != .running } }

    /// SIGHUPs handled so far.
    public var reloads: Int { reloadCount.load(ordering: .relaxed) }

    // Runs on `queue`.
    private func handle(_ signalNumber: Int32) {
        if signalNumber == SIGHUP {
            guard lock.withLock({ $0.phase == .running }) else { return }
            reloadCount.add(1, ordering: .relaxed)
            reload()
            return
        }
        let previous = lock.withLock { state -> Phase in
            let phase = state.phase
            if phase == .running { state.phase = .draining }
            return phase
        }
        switch previous {
        case .running:
            let drain = drain
            Task.detached { [self] in
                await drain()
                finish(.drained, signal: signalNumber)
            }
            let components = drainTimeout.components
            let nanoseconds = Int(clamping: components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000)
            queue.asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [self] in
                finish(.timedOut, signal: signalNumber)
            }
        case .draining:
            finish(.forced, signal: signalNumber)
        case .finished:
            break
        }
    }

    private func finish(_ outcome: ShutdownOutcome, signal signalNumber: Int32) {
        let won = lock.withLock { state -> Bool in
            guard state.phase == .draining else { return false }
            state.phase = .finished
            return true
        }
        if won { exit(outcome, signalNumber) }
    }
}
