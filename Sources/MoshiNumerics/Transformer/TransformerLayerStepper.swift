/// The one streaming transformer layer runner, for Mimi's transformers, the LM's temporal
/// transformer and its depformer, alone or batched: `run` takes `sequences` sequences of
/// `steps` new steps each, stacked as `[sequences * steps, dim]` rows of `x` (updated in place).
/// Sequence `s` owns rows `s * steps ..< (s + 1) * steps` and its KV cache `cache(s)`; row `r`
/// turns its query and key by `cosines`/`sines` row `r` (`[rows, headDim / 2]`, that row's
/// absolute position). Weight products take all rows in one pass over the weights; norms, RoPE,
/// the caches and attention stay per row, so a row's numbers do not depend on the other rows.
///
/// A sequence appends all its steps' keys and values before its queries attend, as the
/// reference's ring cache does, each query skipping the steps after its own
/// (`KVCache.attend(skippingNewest:)`).
///
/// Buffers are sized once for `rows` rows; `run` allocates nothing, takes no lock, does no I/O.
package final class TransformerLayerStepper {
    package let dim: Int
    package let heads: Int
    package let headDim: Int
    package let hidden: Int
    /// The most rows one `run` takes.
    package let rows: Int
    private let scale: Float
    private let normed: FloatBuffer      // [rows, dim]
    private let qkv: FloatBuffer         // [rows, 3 dim]: Q | K | V per row
    private let attended: FloatBuffer    // [rows, dim]
    private let update: FloatBuffer      // [rows, dim]: a residual branch before its layer scale
    private let inner: FloatBuffer       // [rows, linearIn outputs]
    private let activated: FloatBuffer   // [rows, hidden]: the gate's output

    /// - Parameters: `hidden` is the feed-forward's width after the gate; `gated` says whether
    ///   `linearIn` gives `2 * hidden` (gated) or `hidden` outputs.
    package init(dim: Int, heads: Int, hidden: Int, gated: Bool, rows: Int) {
        precondition(dim > 0 && heads > 0 && dim % heads == 0 && rows > 0, "TransformerLayerStepper: dim \(dim), heads \(heads), rows \(rows)")
        self.dim = dim
        self.heads = heads
        headDim = dim / heads
        self.hidden = hidden
        self.rows = rows
        scale = 1 / Float(dim / heads).squareRoot()
        normed = FloatBuffer(count: rows * dim)
        qkv = FloatBuffer(count: rows * 3 * dim)
        attended = FloatBuffer(count: rows * dim)
        update = FloatBuffer(count: rows * dim)
        inner = FloatBuffer(count: rows * (gated ? 2 : 1) * max(hidden, 1))
        activated = FloatBuffer(count: gated ? rows * max(hidden, 1) : 1)
    }

    /// One layer over `sequences * steps` rows of `x`.
    package func run(_ layer: TransformerLayer, _ x: UnsafeMutablePointer<Float>, sequences: Int, steps: Int,
                     cache: (Int) -> KVCache, rope: RotaryEmbedding?, cosines: UnsafePointer<Float>, sines: UnsafePointer<Float>,
                     pool: ThreadPool?) {
        let n = sequences * steps
        precondition(steps >= 1 && n >= 1 && n <= rows, "TransformerLayerStepper.run: \(sequences) x \(steps) rows (at most \(rows))")
        let d = dim
        let half = max(headDim / 2, 1)

        // Attention.
        layer.norm1.apply(x, rows: n, channels: d, into: normed.pointer)
        layer.inProjection.run(normed.pointer, rows: n, into: qkv.pointer, pool: pool)
        for s in 0..<sequences {
            let c = cache(s)
            for t in 0..<steps {
                let r = s * steps + t
                let q = qkv.pointer + r * 3 * d
                if let rope {
                    rope.rotate(q, heads: heads, cos: cosines + r * half, sin: sines + r * half)
                    rope.rotate(q + d, heads: heads, cos: cosines + r * half, sin: sines + r * half)
                }
                c.append(key: q + d, value: q + 2 * d)
            }
            for t in 0..<steps {
                let r = s * steps + t
                c.attend(qkv.pointer + r * 3 * d, scale: scale, into: attended.pointer + r * d, pool: pool,
                         skippingNewest: steps - 1 - t)
            }
        }
        residual(layer.outProjection, attended.pointer, rows: n, scale: layer.layerScale?.attention, into: x, pool: pool)

        // Feed-forward.
        layer.norm2.apply(x, rows: n, channels: d, into: normed.pointer)
        layer.linearIn.run(normed.pointer, rows: n, into: inner.pointer, pool: pool)
        let h = layer.hidden
        switch layer.feedForward {
        case .plain(let activation):
            activation.applyInPlace(inner.pointer, count: n * h)
            residual(layer.linearOut, inner.pointer, rows: n, scale: layer.layerScale?.feedForward, into: x, pool: pool)
        case .gated(let activation):
            for r in 0..<n { activation.gate(inner.pointer + r * 2 * h, hidden: h, into: activated.pointer + r * h) }
            residual(layer.linearOut, activated.pointer, rows: n, scale: layer.layerScale?.feedForward, into: x, pool: pool)
        }
    }

    /// `x += scale * map(input)`, or `x += map(input)` accumulated in place without a scale.
    @inline(__always)
    private func residual(_ map: LinearMap, _ input: UnsafePointer<Float>, rows n: Int, scale: UnsafePointer<Float>?,
                          into x: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        if let scale {
            map.run(input, rows: n, into: update.pointer, pool: pool)
            addChannelScaledInPlace(update.pointer, channelScale: scale, to: x, rows: n, channels: dim)
        } else {
            map.run(input, rows: n, into: x, accumulate: true, pool: pool)
        }
    }
}
