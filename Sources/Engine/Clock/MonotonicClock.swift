#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MoshiNumerics

/// The real clock: `CLOCK_MONOTONIC`, sleeping with `clock_nanosleep(TIMER_ABSTIME)` so that
/// a paced loop keeps to its schedule however long each iteration took.
package final class MonotonicClock: FrameClock {
    package init() {}

    package func now() -> UInt64 { Self.nanoseconds() }

    /// `clock_gettime(CLOCK_MONOTONIC)` in nanoseconds (MoshiNumerics' `MonotonicTime`, the one clock).
    @inline(__always)
    package static func nanoseconds() -> UInt64 { MonotonicTime.nanoseconds() }

    package func sleep(until deadline: UInt64) {
        #if canImport(Glibc)
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
        #else
        while true {
            let current = now()
            guard current < deadline else { return }
            let remaining = deadline - current
            var ts = timespec(tv_sec: Int(remaining / 1_000_000_000), tv_nsec: Int(remaining % 1_000_000_000))
            nanosleep(&ts, nil)
        }
        #endif
    }

    package func makeSignal() -> FrameSignal { WakeSignal() }
    package func threadsWillStart(_ count: Int) {}
    package func threadDidStart(order: Int) {}
    package func threadWillFinish() {}
}
