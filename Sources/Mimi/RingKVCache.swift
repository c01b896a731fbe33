import MoshiNumerics

/// One attention layer's keys and values for the last `capacity` latent steps (the reference's
/// `RingKVCache`): step `p` lives in slot `p % capacity`, and each slot remembers which step it
/// holds (-1 when empty) so attention can mask by absolute position.
///
/// A call writes all its steps before any query attends, as the reference does; so once the
/// ring has wrapped, a call's first query finds the slot of its oldest allowed step already
/// overwritten by the call's second step (a future step, masked) and sees `capacity - 1` keys.
final class RingKVCache {
    let capacity: Int
    let width: Int
    /// `[capacity, width]` (heads contiguous in a row, as the projection produces them).
    let keys: FloatBuffer
    let values: FloatBuffer
    /// `[capacity]`: the absolute step each slot holds, or -1.
    let positions: UnsafeMutablePointer<Int>

    init(capacity: Int, width: Int) {
        self.capacity = capacity
        self.width = width
        keys = FloatBuffer(count: capacity * width)
        values = FloatBuffer(count: capacity * width)
        positions = .allocate(capacity: capacity)
        positions.initialize(repeating: -1, count: capacity)
    }

    deinit { positions.deallocate() }

    /// Stores step `position`'s key and value (`[width]` each).
    func write(position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        let slot = position % capacity
        (keys.pointer + slot * width).update(from: key, count: width)
        (values.pointer + slot * width).update(from: value, count: width)
        positions[slot] = position
    }

    func reset() { positions.update(repeating: -1, count: capacity) }
}
