import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The watchdog settings systemd passes in `$WATCHDOG_USEC` (and `$WATCHDOG_PID`).
package enum WatchdogSettings {
    /// The interval at which to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, as `sd_watchdog_enabled`
    /// advises. Nil when the watchdog is off: `WATCHDOG_USEC` unset, empty, zero or not a number, or
    /// `WATCHDOG_PID` set to another process.
    package static func pingInterval(environment: [String: String], processID: Int32 = getpid()) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0 else { return nil }
        if let pidText = environment["WATCHDOG_PID"], !pidText.isEmpty {
            guard let pid = Int32(pidText), pid == processID else { return nil }
        }
        return .microseconds(Int64(clamping: microseconds / 2))
    }
}

/// A counter the frame loop bumps once per frame (one relaxed atomic add: hot-path safe), which
/// the watchdog reads to tell a working loop from a stuck one.
package final class FrameHeartbeat: Sendable {
    private let beats = Atomic<UInt64>(0)
    private let lastSeen = Atomic<UInt64>(0)

    package init() {}

    /// One frame done. Hot-path safe.
    @inline(__always)
    package func beat() { beats.wrappingAdd(1, ordering: .relaxed) }

    /// Beats so far.
    package var count: UInt64 { beats.load(ordering: .relaxed) }

    /// Whether any beat happened since the previous call (the first call compares with zero).
    package func advancedSinceLastCheck() -> Bool {
        let now = beats.load(ordering: .relaxed)
        return lastSeen.exchange(now, ordering: .relaxed) != now
    }
}

/// Sends `WATCHDOG=1` every `interval` while `isAlive()` says so. A daemon whose event loops or
/// compute path are stuck stops pinging and systemd restarts it after `WatchdogSec`.
///
/// For `moshi serve`, `isAlive` is `MoshiServer.answersLivenessProbe` (see `init(server:...)`):
/// a probe each event loop and compute queue must run within one interval. Frame counts are no
/// measure of liveness: a connected client that sends nothing makes no frames.
package final class SystemdWatchdog: @unchecked Sendable {  // DispatchSource is thread-safe; the rest is immutable or atomic
    /// Counts shared with the timer's handler.
    private final class Counts: Sendable {
        let pings = Atomic<Int>(0)
        let skipped = Atomic<Int>(0)
    }

    /// Time between pings (half of `WatchdogSec`).
    package let interval: Duration
    private let timer: any DispatchSourceTimer
    private let counts = Counts()

    /// A watchdog from the process environment, or nil when systemd asked for none.
    package convenience init?(notifier: SystemdNotifier = SystemdNotifier(), environment: [String: String],
                             queue: DispatchQueue = DispatchQueue(label: "moshi.watchdog"),
                             isAlive: @escaping @Sendable () -> Bool) {
        guard notifier.isEnabled, let interval = WatchdogSettings.pingInterval(environment: environment) else { return nil }
        self.init(notifier: notifier, interval: interval, queue: queue, isAlive: isAlive)
    }

    /// The daemon's watchdog: pings while `server` answers its liveness probes, whatever its
    /// clients do. Nil when systemd asked for no watchdog.
    package convenience init?(server: MoshiServer, notifier: SystemdNotifier = SystemdNotifier(), environment: [String: String]) {
        self.init(notifier: notifier, environment: environment) { server.answersLivenessProbe() }
    }

    /// A watchdog pinging every `interval` (not started).
    package init(notifier: SystemdNotifier, interval: Duration, queue: DispatchQueue = DispatchQueue(label: "moshi.watchdog"),
                isAlive: @escaping @Sendable () -> Bool) {
        self.interval = interval
        let timer = DispatchSource.makeTimerSource(queue: queue)
        self.timer = timer
        let nanoseconds = Int(max(1_000_000, interval.components.seconds * 1_000_000_000 + interval.components.attoseconds / 1_000_000_000))
        timer.schedule(deadline: .now(), repeating: .nanoseconds(nanoseconds), leeway: .nanoseconds(nanoseconds / 10))
        let counts = counts
        timer.setEventHandler {
            if isAlive() {
                if (try? notifier.watchdog()) == true { counts.pings.add(1, ordering: .relaxed) }
            } else {
                counts.skipped.add(1, ordering: .relaxed)
            }
        }
    }

    /// Starts pinging (the first ping is immediate).
    package func start() { timer.activate() }

    /// Stops pinging for good.
    package func stop() { timer.cancel() }

    /// Pings sent so far.
    package var pingCount: Int { counts.pings.load(ordering: .relaxed) }
    /// Pings withheld because `isAlive` said no.
    package var skippedCount: Int { counts.skipped.load(ordering: .relaxed) }
}
