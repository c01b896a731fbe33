/// A fixed-capacity first-in first-out queue of float samples for one thread: what the
/// capture path's resampler produced and the next read has not taken yet. Allocated once.
final class SampleFIFO {
    private let storage: UnsafeMutablePointer<Float>
    let capacity: Int
    private var start = 0
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        storage = .allocate(capacity: capacity)
        storage.initialize(repeating: 0, count: capacity)
    }

    deinit { storage.deallocate() }

    var freeCount: Int { capacity - count }

    /// Appends `samples`; the caller keeps `samples.count <= freeCount`.
    func push(_ samples: UnsafeBufferPointer<Float>) {
        precondition(samples.count <= freeCount, "SampleFIFO overflow")
        var end = (start + count) % capacity
        for sample in samples {
            storage[end] = sample
            end = end + 1 == capacity ? 0 : end + 1
        }
        count += samples.count
    }

    /// Moves the oldest `destination.count` samples out; the caller keeps it `<= count`.
    func pop(into destination: UnsafeMutableBufferPointer<Float>) {
        precondition(destination.count <= count, "SampleFIFO underflow")
        for i in 0..<destination.count {
            destination[i] = storage[start]
            start = start + 1 == capacity ? 0 : start + 1
        }
        count -= destination.count
    }

    func removeAll() {
        start = 0
        count = 0
    }
}
