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
/// a stuck shutdown never needs SIGKILL. One watcher at a time; `cancel` restores the actions
/// it replaced.
final class SignalWatcher: Sendable {
    private static let writeEnd = Atomic<Int32>(-1)
    private static let delivered = Atomic<Int>(0)
    nonisolated(unsafe) private static var previous: [Int32: sigaction] = [:]

    private let signals: [Int32]
    private let readEnd: Int32
    private let cancelled = StopRequest()

    /// Starts watching `signals`; `onSignal` runs on the watcher's thread for each one.
    init(_ signals: [Int32], repeatEnds: Bool = true, onSignal: @escaping @Sendable (Int32) -> Void) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SignalWatcherError("cannot create the signal pipe: \(String(cString: strerror(errno)))") }
        guard Self.writeEnd.compareExchange(expected: -1, desired: fds[1], ordering: .sequentiallyConsistent).exchanged else {
            close(fds[0]); close(fds[1])
            throw SignalWatcherError("a signal watcher is already installed")
        }
        self.signals = signals
        readEnd = fds[0]
        Self.delivered.store(0, ordering: .relaxed)
        for number in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(SignalWatcher.writeEnd.load(ordering: .relaxed), &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            var old = sigaction()
            sigaction(number, &action, &old)
            Self.previous[number] = old
        }
        let readEnd = self.readEnd
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
                SignalWatcher.delivered.add(1, ordering: .relaxed)
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

    /// Stops watching and puts back the actions it replaced. Idempotent.
    func cancel() {
        guard cancelled.requestFirst() else { return }
        for number in signals {
            if var old = Self.previous.removeValue(forKey: number) { sigaction(number, &old, nil) }
        }
        let fd = Self.writeEnd.exchange(-1, ordering: .sequentiallyConsistent)
        if fd >= 0 { close(fd) }   // the watcher's thread reads end-of-file and ends
    }

    deinit { cancel() }

    /// Signals handled since the last watcher was installed (tests).
    static var deliveredCount: Int { delivered.load(ordering: .relaxed) }
}

struct SignalWatcherError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
