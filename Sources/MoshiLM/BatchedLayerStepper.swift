import MoshiNumerics

/// `GatedLayerStepper` for `n` independent sequences at once: one pre-norm layer step
/// (`x += attn(norm1(x)); x += ffn(norm2(x))`) on `n` rows of `x`, each row a different
/// conversation at its own position with its own KV cache. Every weight product multiplies the
/// `n` rows in one pass over the weights (`Matvec.runBatch`); norms, RoPE, attention and the
/// gate run per row exactly as the single-row stepper runs them, so each row gets the numbers it
/// would get alone. Buffers are sized once for `capacity` rows; `step` allocates nothing.
final class BatchedLayerStepper {
    let dim: Int
    let heads: Int
    let hidden: Int
    let epsilon: Float
    let gating: LMConfig.Activation
    let scale: Float
    let capacity: Int
    private let normed: FloatBuffer     // [capacity, dim]
    private let qkv: FloatBuffer        // [capacity, 3 dim]
    private let attended: FloatBuffer   // [capacity, dim]
    private let gated: FloatBuffer      // [capacity, 2 hidden]
    private let activated: FloatBuffer  // [capacity, hidden]

    init(dim: Int, heads: Int, hidden: Int, epsilon: Float, gating: LMConfig.Activation, capacity: Int) {
        self.dim = dim
        self.heads = heads
        self.hidden = hidden
        self.epsilon = epsilon
        self.gating = gating
        self.capacity = capacity
        scale = 1 / Float(dim / heads).squareRoot()
        normed = FloatBuffer(count: capacity * dim)
        qkv = FloatBuffer(count: capacity * 3 * dim)
        attended = FloatBuffer(count: capacity * dim)
        gated = FloatBuffer(count: capacity * 2 * hidden)
        activated = FloatBuffer(count: capacity * hidden)
    }

    /// One layer on rows `x[0..<n]` (`[n, dim]`, updated in place). Row r appends to and attends
    /// over `cache(r)`; with `rope`, its query and key turn by `cosines`/`sines` row r
    /// (`[n, headDim / 2]`, that row's position).
    func step(_ x: UnsafeMutablePointer<Float>, rows n: Int, norm1: [Float], norm2: [Float], products p: GatedLayerProducts,
              cache: (Int) -> KVCache, rope: RotaryEmbedding?, cosines: UnsafePointer<Float>, sines: UnsafePointer<Float>,
              pool: ThreadPool?) {
        let d = dim
        let half = max(d / heads / 2, 1)
        norm1.withUnsafeBufferPointer { rmsNorm(x, alpha: $0.baseAddress!, eps: epsilon, rows: n, channels: d, into: normed.pointer) }
        p.inProjection.runBatch(normed.pointer, count: n, into: qkv.pointer, pool: pool)
        for r in 0..<n {
            let q = qkv.pointer + r * 3 * d
            if let rope {
                rope.rotate(q, heads: heads, cos: cosines + r * half, sin: sines + r * half)
                rope.rotate(q + d, heads: heads, cos: cosines + r * half, sin: sines + r * half)
            }
            let c = cache(r)
            c.append(key: q + d, value: q + 2 * d)
            c.attend(q, scale: scale, into: attended.pointer + r * d, pool: pool)
        }
        p.outProjection.runBatch(attended.pointer, count: n, into: x, pool: pool, accumulate: true)

        norm2.withUnsafeBufferPointer { rmsNorm(x, alpha: $0.baseAddress!, eps: epsilon, rows: n, channels: d, into: normed.pointer) }
        p.linearIn.runBatch(normed.pointer, count: n, into: gated.pointer, pool: pool)
        for r in 0..<n {
            gating.gate(gated.pointer + r * 2 * hidden, hidden: hidden, into: activated.pointer + r * hidden)
        }
        p.linearOut.runBatch(activated.pointer, count: n, into: x, pool: pool, accumulate: true)
    }
}
