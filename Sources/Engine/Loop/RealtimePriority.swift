#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Real-time scheduling for the loop's audio threads.
enum RealtimePriority {
    /// Puts the calling thread under `SCHED_FIFO` at `priority` (1...99). Returns nil on
    /// success, else why not (typically "Operation not permitted" without CAP_SYS_NICE or an
    /// RLIMIT_RTPRIO; containers usually refuse).
    static func enable(priority: Int32) -> String? {
        var parameters = sched_param()
        parameters.sched_priority = priority
        let result = pthread_setschedparam(pthread_self(), Int32(SCHED_FIFO), &parameters)
        return result == 0 ? nil : String(cString: strerror(result))
    }
}
