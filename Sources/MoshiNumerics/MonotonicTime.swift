#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one clock: `CLOCK_MONOTONIC`, read without allocating or locking. Stage timers, pacing,
/// uptime and benchmarks all read it (through Engine's `MonotonicClock` above the models).
package enum MonotonicTime {
    /// Nanoseconds since an arbitrary fixed point (boot).
    @inline(__always)
    package static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// The same clock in seconds, for benchmarks.
    @inline(__always)
    package static func seconds() -> Double { Double(nanoseconds()) * 1e-9 }

    /// CPU time this thread has run, seconds (`CLOCK_THREAD_CPUTIME_ID`), for benchmarks.
    package static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
