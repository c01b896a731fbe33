import CKernels

/// How a KV cache stores keys and values (`model.kv_cache_precision`). f32 reproduces the
/// reference exactly; the 16-bit formats halve the memory and the bytes read per step.
package enum KVCachePrecision: String, Sendable, CaseIterable, CustomStringConvertible {
    case f32, f16, bf16

    package var bytesPerValue: Int { self == .f32 ? 4 : 2 }
    package var description: String { rawValue }

    var kernelFormat: Int32 {
        switch self {
        case .f32: Int32(MK_CACHE_F32)
        case .f16: Int32(MK_CACHE_F16)
        case .bf16: Int32(MK_CACHE_BF16)
        }
    }
}

/// The keys and values of one attention layer for the last `capacity` steps, as a ring: step
/// `p` (counted from the start of the stream, never reset by the ring) lives in slot
/// `p % capacity`, so memory is constant however long the stream runs. A query at step `p`
/// sees the steps `p - capacity + 1 ... p` that exist, itself included (the reference's ring
/// cache for one step at a time: `0 <= p - k < capacity`).
///
/// Storage is head-major (`[heads, capacity, headDim]`) so each head's keys and values are
/// contiguous for the attention kernel (CKernels `mk_attend`). Everything is allocated in
/// `init`; `append` and `attend` allocate nothing.
package final class KVCache: @unchecked Sendable {
    package let heads: Int
    package let headDim: Int
    package let capacity: Int
    package let precision: KVCachePrecision
    /// Steps appended since the last reset (the absolute position of the next step).
    package private(set) var count = 0
    private let keys: UnsafeMutableRawPointer
    private let values: UnsafeMutableRawPointer
    private let scores: FloatBuffer

    package init(heads: Int, headDim: Int, capacity: Int, precision: KVCachePrecision = .f32) {
        precondition(heads > 0 && headDim > 0 && capacity > 0, "KVCache: heads, headDim and capacity must be positive")
        self.heads = heads
        self.headDim = headDim
        self.capacity = capacity
        self.precision = precision
        let bytes = heads * capacity * headDim * precision.bytesPerValue
        keys = .allocate(byteCount: bytes, alignment: 64)
        values = .allocate(byteCount: bytes, alignment: 64)
        keys.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        values.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        scores = FloatBuffer(count: heads * capacity)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Bytes held for keys and values.
    package var storageBytes: Int { 2 * heads * capacity * headDim * precision.bytesPerValue }

    /// Slots a query sees now: every step still in the ring.
    package var visibleSlots: Int { min(count, capacity) }

    /// Bytes one `attend` reads now (the keys and values of the visible slots).
    package var bytesReadPerQuery: Int { 2 * heads * visibleSlots * headDim * precision.bytesPerValue }

    /// Stores the key and value of the next step (`[heads * headDim]` each, heads contiguous).
    package func append(key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        let slot = count % capacity
        let stride = precision.bytesPerValue
        for h in 0..<heads {
            let offset = ((h * capacity + slot) * headDim) * stride
            mk_cache_store(keys + offset, key + h * headDim, Int64(headDim), precision.kernelFormat)
            mk_cache_store(values + offset, value + h * headDim, Int64(headDim), precision.kernelFormat)
        }
        count += 1
    }

    /// Attention of query `q` (`[heads * headDim]`, already rotated) over every visible step
    /// into `out` (`[heads * headDim]`): per head, softmax(q·k · scale) weighted values.
    ///
    /// `skippingNewest` steps, the last ones appended, are masked: when a call appends several
    /// steps before its queries attend (Mimi's transformers, 2 steps a call, as the reference's
    /// ring cache does), the query of step `count - 1 - j` skips the `j` steps after it. Once
    /// the ring has wrapped, those steps sit in the slots of the oldest steps the query could
    /// have seen, so it sees `capacity - j` steps.
    package func attend(_ q: UnsafePointer<Float>, scale: Float, into out: UnsafeMutablePointer<Float>,
                       pool: ThreadPool?, skippingNewest future: Int = 0, path: KernelPath = .best) {
        precondition(future >= 0 && future < max(count, 1), "KVCache.attend: cannot skip \(future) of \(count) steps")
        var a = mk_attention(q: q, keys: keys, values: values, out: out, scores: scores.pointer,
                             heads: Int64(heads), head_dim: Int64(headDim), capacity: Int64(capacity),
                             slots: Int64(visibleSlots), skip_start: Int64((count - future) % capacity),
                             skip_count: Int64(future), scale: scale, format: precision.kernelFormat, path: path.rawValue)
        mk_attend(pool?.handle, &a)
    }

    /// Positions the ring as if `steps` steps had run, keeping whatever the slots hold: for
    /// benchmarks that time a step at a given context fill without running the steps before it.
    package func fastForward(to steps: Int) { count = max(0, steps) }

    /// Empties the cache (a new stream starts at step 0).
    package func reset() { count = 0 }
}
