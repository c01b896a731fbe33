import Dispatch
import NIOCore
import Synchronization

/// Probes that every event loop and every compute queue must run between two watchdog ticks.
/// A tick with probes still outstanding means something is stuck: a blocked event loop, or a
/// compute queue inside a frame that never ends. Clients play no part (a silent client makes
/// no frames, and that is fine).
final class LivenessProbe: Sendable {
    private let outstanding = Atomic<Int>(0)

    /// True when every probe of the previous call has run; then posts a new probe to each of
    /// `loops` and `queues`. False (posting nothing) while some are still waiting.
    func check(loops: [any EventLoop], queues: [DispatchQueue]) -> Bool {
        guard outstanding.load(ordering: .acquiring) == 0 else { return false }
        outstanding.store(loops.count + queues.count, ordering: .releasing)
        for loop in loops { loop.execute { self.answer() } }
        for queue in queues { queue.async { self.answer() } }
        return true
    }

    private func answer() { outstanding.subtract(1, ordering: .acquiringAndReleasing) }
}
