/// The weights of one pre-norm streaming transformer layer, as both of Kyutai's models use it
/// (Rust `moshi::transformer`: one layer type configured by norm, gating and layer scale):
///
///     x += s1 * out(attention(rope(in(norm1(x)))))
///     x += s2 * feedForward(norm2(x))
///
/// Mimi: LayerNorm, plain GELU feed-forward, learnt layer scales, f32 dense products. The LM's
/// temporal transformer and depformer: RMSNorm, gated feed-forward, no layer scale, products on
/// any weight format. No biases in either.
package struct TransformerLayer: @unchecked Sendable {
    /// The feed-forward block after `norm2`.
    package enum FeedForward: Sendable, Equatable {
        /// `linearOut(act(linearIn(x)))`: linearIn `[hidden, dim]`, linearOut `[dim, hidden]`.
        case plain(TransformerActivation)
        /// `linearOut(act(h[..<hidden]) * h[hidden...])`, `h = linearIn(x)`: linearIn `[2 hidden, dim]`.
        case gated(TransformerActivation)
    }

    /// The learnt per-channel scales of both residual branches (`[dim]` each).
    package struct LayerScale: @unchecked Sendable {
        package let attention: UnsafePointer<Float>
        package let feedForward: UnsafePointer<Float>
        package init(attention: UnsafePointer<Float>, feedForward: UnsafePointer<Float>) {
            self.attention = attention
            self.feedForward = feedForward
        }
    }

    package let norm1: TransformerNorm
    package let norm2: TransformerNorm
    /// `[3 dim, dim]`: rows Q, K, V; head h owns rows `h * headDim ..< (h + 1) * headDim` of each.
    package let inProjection: LinearMap
    /// `[dim, dim]`.
    package let outProjection: LinearMap
    package let feedForward: FeedForward
    package let linearIn: LinearMap
    package let linearOut: LinearMap
    package let layerScale: LayerScale?

    package init(norm1: TransformerNorm, norm2: TransformerNorm, inProjection: LinearMap, outProjection: LinearMap,
                 feedForward: FeedForward, linearIn: LinearMap, linearOut: LinearMap, layerScale: LayerScale? = nil) {
        self.norm1 = norm1
        self.norm2 = norm2
        self.inProjection = inProjection
        self.outProjection = outProjection
        self.feedForward = feedForward
        self.linearIn = linearIn
        self.linearOut = linearOut
        self.layerScale = layerScale
    }

    /// The model width.
    package var dim: Int { outProjection.outputs }
    /// The feed-forward's hidden width (after the gate, when gated).
    package var hidden: Int { linearOut.inner }
}
