import MoshiNumerics

/// The matrices of one pre-norm transformer layer as both of Moshi's transformers use it:
/// attention with a fused QKV projection, then a gated feed-forward. No biases, no layer scale.
struct GatedLayerProducts {
    let inProjection: Matvec      // [3 dim, dim]
    let outProjection: Matvec     // [dim, dim]
    let linearIn: Matvec          // [2 hidden, dim]
    let linearOut: Matvec         // [dim, hidden]

    init(inProjection: WeightMatrix, outProjection: WeightMatrix, linearIn: WeightMatrix, linearOut: WeightMatrix,
         precision: MatvecPrecision, scratch: MatvecScratch) throws(MatvecError) {
        self.inProjection = try Matvec(inProjection, precision: precision, scratch: scratch)
        self.outProjection = try Matvec(outProjection, precision: precision, scratch: scratch)
        self.linearIn = try Matvec(linearIn, precision: precision, scratch: scratch)
        self.linearOut = try Matvec(linearOut, precision: precision, scratch: scratch)
    }
}

/// The buffers one layer step works in, sized once for a transformer's width, and the step itself:
/// `x += attn(norm1(x)); x += ffn(norm2(x))` for one position, its key and value appended to
/// `cache`, RoPE (when given) applied to the query and key with this position's rotation.
final class GatedLayerStepper {
    let dim: Int
    let heads: Int
    let hidden: Int
    let epsilon: Float
    let gating: LMConfig.Activation
    let scale: Float
    private let normed: FloatBuffer
    private let qkv: FloatBuffer
    private let attended: FloatBuffer
    private let gated: FloatBuffer
    private let activated: FloatBuffer

    init(dim: Int, heads: Int, hidden: Int, epsilon: Float, gating: LMConfig.Activation) {
        self.dim = dim
        self.heads = heads
        self.hidden = hidden
        self.epsilon = epsilon
        self.gating = gating
        scale = 1 / Float(dim / heads).squareRoot()
        normed = FloatBuffer(count: dim)
        qkv = FloatBuffer(count: 3 * dim)
        attended = FloatBuffer(count: dim)
        gated = FloatBuffer(count: 2 * hidden)
        activated = FloatBuffer(count: hidden)
    }

    /// One layer on `x` (`[dim]`, updated in place). `rotation` is the rope and this position's cos/sin tables.
    func step(_ x: UnsafeMutablePointer<Float>, norm1: [Float], norm2: [Float], products p: GatedLayerProducts,
              cache: KVCache, rotation: (RotaryEmbedding, UnsafePointer<Float>, UnsafePointer<Float>)?, pool: ThreadPool?) {
        let d = dim
        norm1.withUnsafeBufferPointer { rmsNorm(x, alpha: $0.baseAddress!, eps: epsilon, rows: 1, channels: d, into: normed.pointer) }
        p.inProjection.run(normed.pointer, into: qkv.pointer, pool: pool)
        if let (rope, cosines, sines) = rotation {
            rope.rotate(qkv.pointer, heads: heads, cos: cosines, sin: sines)
            rope.rotate(qkv.pointer + d, heads: heads, cos: cosines, sin: sines)
        }
        cache.append(key: qkv.pointer + d, value: qkv.pointer + 2 * d)
        cache.attend(qkv.pointer, scale: scale, into: attended.pointer, pool: pool)
        p.outProjection.run(attended.pointer, into: x, pool: pool, accumulate: true)

        norm2.withUnsafeBufferPointer { rmsNorm(x, alpha: $0.baseAddress!, eps: epsilon, rows: 1, channels: d, into: normed.pointer) }
        p.linearIn.run(normed.pointer, into: gated.pointer, pool: pool)
        gating.gate(gated.pointer, hidden: hidden, into: activated.pointer)
        p.linearOut.run(activated.pointer, into: x, pool: pool, accumulate: true)
    }
}
