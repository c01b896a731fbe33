import Synchronization

/// A flag a signal sets and a loop polls (`moshi client --mic` checks it every 20 ms).
final class StopRequest: Sendable {
    private let flag = Atomic<Bool>(false)
    func request() { flag.store(true, ordering: .relaxed) }
    /// Sets the flag; true for the call that set it first.
    func requestFirst() -> Bool { !flag.exchange(true, ordering: .sequentiallyConsistent) }
    var isRequested: Bool { flag.load(ordering: .relaxed) }
}
