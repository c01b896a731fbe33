import Dispatch
import Synchronization

/// The real clock's `FrameSignal`: an atomic state word in front of a semaphore, so that
/// `signal` costs one atomic operation unless the waiter is asleep, and the semaphore's count
/// never drifts from the number of sleepers (0 or 1).
///
/// State: 0 idle, 1 signalled, -1 the waiter sleeps on the semaphore.
package final class WakeSignal: FrameSignal {
    private let state = Atomic<Int>(0)
    private let semaphore = DispatchSemaphore(value: 0)

    package init() {}

    package func wait() {
        while true {
            switch state.load(ordering: .acquiring) {
            case 1:
                if state.compareExchange(expected: 1, desired: 0, ordering: .acquiringAndReleasing).exchanged { return }
            case 0:
                if state.compareExchange(expected: 0, desired: -1, ordering: .acquiringAndReleasing).exchanged {
                    semaphore.wait()
                    return
                }
            default:
                preconditionFailure("WakeSignal: two threads wait on one signal")
            }
        }
    }

    package func signal() {
        while true {
            switch state.load(ordering: .acquiring) {
            case 1:
                return
            case 0:
                if state.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged { return }
            default:
                if state.compareExchange(expected: -1, desired: 0, ordering: .acquiringAndReleasing).exchanged {
                    semaphore.signal()
                    return
                }
            }
        }
    }
}
