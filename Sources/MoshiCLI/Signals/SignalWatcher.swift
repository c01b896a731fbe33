#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// The one way every long-running command (`serve`, `chat`, `profile`, `client --mic`) handles
/// signals. The handler only writes the signal's number to a pipe (the self-pipe trick: `write`
/// is async-signal-safe); a thread of the watcher's own reads it and calls `onSignal` there, off
/// the signal context, where it may log, take locks and stop loops.
///
/// The watched signals are unblocked on the watcher's thread, so they arrive even when the
/// process was started with them blocked (a child inherits the mask of the thread that spawned
/// it: supervisors, test runners and Dispatch workers block most signals). With
/// `repeatEnds`, a second SIGINT or SIGTERM ends the process at once (status 128 + signal), so
/// a stuck shutdown never needs SIGKILL. Several may watch at once (commands run side by side
/// in tests); `cancel` of the last one of a signal restores the action it replaced.
final class SignalWatcher: Sendable {
    /// The write ends of the watchers' pipes (-1: free); the handler writes to each. Plain
    /// 32-bit slots, read in the handler without locks, changed only under `registry`.
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<Int32> = {
        let slots = UnsafeMutablePointer<Int32>.allocate(capacity: maximumWatchers)
        slots.initialize(repeating: -1, count: maximumWatchers)
        return slots
    }()
    static let maximumWatchers = 8

    /// Per signal: how many watchers want it and the action that was there before the first.
    private struct Registry: @unchecked Sendable {
        var users: [Int32: Int] = [:]
        var previous: [Int32: sigaction] = [:]
    }
    private static let registry = Mutex(Registry())

    private let signals: [Int32]
    private let slot: Int
    private let cancelled = StopRequest()

    /// Starts watching `signals`; `onSignal` runs on the watcher's thread for each one.
    init(_ signals: [Int32], repeatEnds: Bool = true, onSignal: @escaping @Sendable (Int32) -> Void) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SignalWatcherError("cannot create the signal pipe: \(String(cString: strerror(errno)))") }
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)   // a full pipe never blocks the handler
        let slot: Int? = Self.registry.withLock { registry in
            guard let free = (0..<Self.maximumWatchers).first(where: { Self.slots[$0] < 0 }) else { return nil }
            Self.slots[free] = fds[1]
            for number in signals {
                registry.users[number, default: 0] += 1
                guard registry.users[number] == 1 else { continue }
                var action = sigaction()
                action.__sigaction_handler.sa_handler = { number in
                    var byte = UInt8(truncatingIfNeeded: number)
                    for i in 0..<SignalWatcher.maximumWatchers {
                        let fd = SignalWatcher.slots[i]
                        if fd >= 0 { _ = write(fd, &byte, 1) }
                    }
                }
                sigemptyset(&action.sa_mask)
                action.sa_flags = SA_RESTART
                var old = sigaction()
                sigaction(number, &action, &old)
                registry.previous[number] = old
            }
            return free
        }
        guard let slot else {
            close(fds[0]); close(fds[1])
            throw SignalWatcherError("too many signal watchers at once (\(Self.maximumWatchers))")
        }
        self.signals = signals
        self.slot = slot
        let readEnd = fds[0]
        let cancelled = self.cancelled
        let watched = signals
        let thread = Thread {
            var unblock = sigset_t()
            sigemptyset(&unblock)
            for number in watched { sigaddset(&unblock, number) }
            pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
            var stops = 0
            while true {
                var byte: UInt8 = 0
                let got = read(readEnd, &byte, 1)
                if got < 0 && errno == EINTR { continue }
                if got <= 0 || cancelled.isRequested { break }
                let number = Int32(byte)
                guard watched.contains(number) else { continue }   // another watcher's signal
                if number == SIGINT || number == SIGTERM {
                    stops += 1
                    if repeatEnds && stops > 1 { _exit(128 + number) }
                }
                onSignal(number)
            }
            close(readEnd)
        }
        thread.name = "moshi.signals"
        thread.start()
        // The calling thread too: a signal sent before the watcher's thread has started is
        // still delivered to a thread that handles it.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for number in signals { sigaddset(&unblock, number) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }

    /// Stops watching; the last watcher of a signal puts back the action it found. Idempotent.
    func cancel() {
        guard cancelled.requestFirst() else { return }
        Self.registry.withLock { registry in
            for number in signals {
                registry.users[number, default: 1] -= 1
                if registry.users[number] == 0, var old = registry.previous.removeValue(forKey: number) {
                    sigaction(number, &old, nil)
                    registry.users[number] = nil
                }
            }
            let fd = Self.slots[slot]
            Self.slots[slot] = -1
            if fd >= 0 { close(fd) }   // the watcher's thread reads end-of-file and ends
        }
    }

    deinit { cancel() }
}

struct SignalWatcherError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
