import Engine
import Synchronization

/// Where the daemon is in its life, as `/healthz` reports it.
package enum DaemonState: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Loading and warming up the model: not ready for clients.
    case loading = 0
    /// Accepting conversations.
    case ready = 1
    /// Shutting down: open conversations finish, new ones are refused.
    case draining = 2

    /// The name used in the health JSON.
    package var description: String {
        switch self {
        case .loading: "loading"
        case .ready: "ready"
        case .draining: "draining"
        }
    }
}

/// The daemon's state and start time, shared by the server (which sets the state) and the health
/// endpoint (which reads it). Safe from any thread.
package final class DaemonStatus: Sendable {
    private let rawState: Atomic<UInt8>
    private let startNanoseconds: UInt64

    /// Starts in `initialState` (normally `.loading`); uptime counts from now.
    package init(initialState: DaemonState = .loading) {
        rawState = Atomic(initialState.rawValue)
        startNanoseconds = MonotonicClock.nanoseconds()
    }

    /// The current state.
    package var state: DaemonState {
        get { DaemonState(rawValue: rawState.load(ordering: .acquiring)) ?? .loading }
    }

    /// Moves to `newState`. `.draining` is final: once draining, the state no longer changes.
    /// Returns the state after the call.
    @discardableResult
    package func transition(to newState: DaemonState) -> DaemonState {
        var current = rawState.load(ordering: .relaxed)
        while true {
            if current == DaemonState.draining.rawValue { return .draining }
            let (exchanged, original) = rawState.compareExchange(expected: current, desired: newState.rawValue,
                                                                 ordering: .acquiringAndReleasing)
            if exchanged { return newState }
            current = original
        }
    }

    /// Seconds since this status was created (monotonic clock).
    package var uptimeSeconds: Double { Double(MonotonicClock.nanoseconds() &- startNanoseconds) / 1e9 }
}
