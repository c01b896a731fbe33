#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Ctrl-C for `moshi client --mic`: a SIGINT handler that only sets a flag (an atomic store is
/// async-signal-safe); the capture loop reads it every 20 ms and ends the conversation cleanly.
enum InterruptFlag {
    private static let flag = Atomic<Bool>(false)
    nonisolated(unsafe) private static var previous = sigaction()

    /// Whether SIGINT arrived since `install`.
    static var isSet: Bool { flag.load(ordering: .relaxed) }

    /// Clears the flag and routes SIGINT to it.
    static func install() {
        flag.store(false, ordering: .relaxed)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in InterruptFlag.flag.store(true, ordering: .relaxed) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGINT, &action, &previous)
    }

    /// Puts back the handler `install` replaced.
    static func uninstall() {
        sigaction(SIGINT, &previous, nil)
    }

    /// Sets the flag as SIGINT would (tests).
    static func raiseForTesting() { flag.store(true, ordering: .relaxed) }
}
