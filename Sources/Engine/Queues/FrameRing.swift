import Synchronization

/// A bounded single-producer single-consumer queue of audio frames, allocated once: `capacity`
/// slots of `frameSize` samples plus per-slot metadata (the frame's index, two timestamps and
/// a flag). The producer fills the slot in place (`producerSamples`) and `commit`s it; the
/// consumer reads slots in place (`samples(at:)`) and `pop`s them. Positions are atomics with
/// acquire/release ordering: no lock, no allocation after `init`.
///
/// One thread produces and one consumes; `count` may be read by either (and, approximately,
/// by any other thread).
package final class FrameRing: @unchecked Sendable {  // each side's state is touched by its thread only
    /// Slots in the ring.
    package let capacity: Int
    /// Samples per slot.
    package let frameSize: Int

    private let storage: UnsafeMutablePointer<Float>
    private let indices: UnsafeMutablePointer<Int>
    private let firstTimes: UnsafeMutablePointer<UInt64>
    private let secondTimes: UnsafeMutablePointer<UInt64>
    private let flags: UnsafeMutablePointer<UInt32>
    private let head = Atomic<Int>(0)   // slots committed so far (producer writes)
    private let tail = Atomic<Int>(0)   // slots popped so far (consumer writes)

    package init(capacity: Int, frameSize: Int = FrameTiming.samplesPerFrame) {
        precondition(capacity >= 1 && frameSize >= 1, "FrameRing needs at least one slot of one sample")
        self.capacity = capacity
        self.frameSize = frameSize
        storage = .allocate(capacity: capacity * frameSize)
        storage.initialize(repeating: 0, count: capacity * frameSize)
        indices = .allocate(capacity: capacity)
        indices.initialize(repeating: 0, count: capacity)
        firstTimes = .allocate(capacity: capacity)
        firstTimes.initialize(repeating: 0, count: capacity)
        secondTimes = .allocate(capacity: capacity)
        secondTimes.initialize(repeating: 0, count: capacity)
        flags = .allocate(capacity: capacity)
        flags.initialize(repeating: 0, count: capacity)
    }

    deinit {
        storage.deallocate()
        indices.deallocate()
        firstTimes.deallocate()
        secondTimes.deallocate()
        flags.deallocate()
    }

    /// Frames committed and not popped yet.
    package var count: Int { head.load(ordering: .acquiring) - tail.load(ordering: .acquiring) }

    // MARK: Producer

    /// Whether the producer has no free slot.
    package var isFull: Bool { head.load(ordering: .relaxed) - tail.load(ordering: .acquiring) >= capacity }

    /// The free slot the next `commit` publishes; nil when the ring is full.
    package func producerSamples() -> UnsafeMutablePointer<Float>? {
        let position = head.load(ordering: .relaxed)
        guard position - tail.load(ordering: .acquiring) < capacity else { return nil }
        return storage + (position % capacity) * frameSize
    }

    /// Publishes the slot `producerSamples` returned, with its metadata. The ring must not be full.
    package func commit(index: Int, firstTime: UInt64, secondTime: UInt64 = 0, flags value: UInt32 = 0) {
        let position = head.load(ordering: .relaxed)
        precondition(position - tail.load(ordering: .acquiring) < capacity, "FrameRing overflow")
        let slot = position % capacity
        indices[slot] = index
        firstTimes[slot] = firstTime
        secondTimes[slot] = secondTime
        flags[slot] = value
        head.store(position + 1, ordering: .releasing)
    }

    /// Copies `frameSize` samples in and commits them; false (nothing done) when full.
    @discardableResult
    package func push(_ samples: UnsafePointer<Float>, index: Int, firstTime: UInt64, secondTime: UInt64 = 0, flags value: UInt32 = 0) -> Bool {
        guard let slot = producerSamples() else { return false }
        slot.update(from: samples, count: frameSize)
        commit(index: index, firstTime: firstTime, secondTime: secondTime, flags: value)
        return true
    }

    // MARK: Consumer

    private func slot(_ offset: Int) -> Int {
        let position = tail.load(ordering: .relaxed) + offset
        precondition(offset >= 0 && offset < count, "FrameRing: no frame at offset \(offset)")
        return position % capacity
    }

    /// The samples of the `offset`-th oldest frame (0: the next to pop).
    package func samples(at offset: Int = 0) -> UnsafeMutablePointer<Float> { storage + slot(offset) * frameSize }
    /// The index committed with the `offset`-th oldest frame.
    package func index(at offset: Int = 0) -> Int { indices[slot(offset)] }
    /// The first timestamp committed with the `offset`-th oldest frame.
    package func firstTime(at offset: Int = 0) -> UInt64 { firstTimes[slot(offset)] }
    /// The second timestamp committed with the `offset`-th oldest frame.
    package func secondTime(at offset: Int = 0) -> UInt64 { secondTimes[slot(offset)] }
    /// The flags committed with the `offset`-th oldest frame.
    package func flags(at offset: Int = 0) -> UInt32 { flags[slot(offset)] }

    /// Frees the oldest frame's slot. The ring must not be empty.
    package func pop() {
        let position = tail.load(ordering: .relaxed)
        precondition(head.load(ordering: .acquiring) > position, "FrameRing underflow")
        tail.store(position + 1, ordering: .releasing)
    }

    /// Copies the oldest frame out and pops it; false when empty.
    @discardableResult
    package func pop(into destination: UnsafeMutablePointer<Float>) -> Bool {
        guard count > 0 else { return false }
        destination.update(from: samples(at: 0), count: frameSize)
        pop()
        return true
    }
}
