import Synchronization

/// A bounded single-producer single-consumer queue of (frame index, text token) pairs, from
/// the compute thread to whoever turns tokens into text. Allocated once; lock-free.
package final class TokenRing: @unchecked Sendable {  // each side's state is touched by its thread only
    package let capacity: Int
    private let frames: UnsafeMutablePointer<Int>
    private let tokens: UnsafeMutablePointer<Int32>
    private let head = Atomic<Int>(0)
    private let tail = Atomic<Int>(0)

    package init(capacity: Int) {
        precondition(capacity >= 1)
        self.capacity = capacity
        frames = .allocate(capacity: capacity)
        frames.initialize(repeating: 0, count: capacity)
        tokens = .allocate(capacity: capacity)
        tokens.initialize(repeating: 0, count: capacity)
    }

    deinit {
        frames.deallocate()
        tokens.deallocate()
    }

    /// Appends a pair; false (dropped) when full.
    @discardableResult
    package func push(frame: Int, token: Int32) -> Bool {
        let position = head.load(ordering: .relaxed)
        guard position - tail.load(ordering: .acquiring) < capacity else { return false }
        frames[position % capacity] = frame
        tokens[position % capacity] = token
        head.store(position + 1, ordering: .releasing)
        return true
    }

    /// Removes and returns the oldest pair; nil when empty.
    package func pop() -> (frame: Int, token: Int32)? {
        let position = tail.load(ordering: .relaxed)
        guard head.load(ordering: .acquiring) > position else { return nil }
        let pair = (frames[position % capacity], tokens[position % capacity])
        tail.store(position + 1, ordering: .releasing)
        return pair
    }
}
