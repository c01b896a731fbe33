import Glibc

/// An owned, 64-byte-aligned array of floats, allocated once and zeroed; freed in `deinit`.
/// Model state and kernel scratch live in these, so a step never allocates.
package final class FloatBuffer: @unchecked Sendable {
    package let count: Int
    /// The first element. Valid as long as the buffer is alive.
    package let pointer: UnsafeMutablePointer<Float>

    package init(count: Int) {
        precondition(count >= 0, "FloatBuffer count must not be negative")
        self.count = count
        var raw: UnsafeMutableRawPointer? = nil
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, (bytes + 63) & ~63) == 0, let raw else {
            fatalError("FloatBuffer: out of memory allocating \(bytes) bytes")
        }
        memset(raw, 0, bytes)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// A buffer holding a copy of `values`.
    package convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit { free(pointer) }

    package var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    package subscript(index: Int) -> Float {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }

    package func fill(_ value: Float) { buffer.update(repeating: value) }

    /// A copy of the contents (for tests and output, not for the hot path).
    package var array: [Float] { Array(buffer) }
}
