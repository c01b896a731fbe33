import MoshiNumerics
import Weights

/// The Moshi language model for streaming inference: the temporal transformer stepped once
/// per 80 ms frame, then the depformer once per generated codebook. `LMGenerator` drives it
/// with the reference's delays and sampling; this class is the arithmetic.
///
/// All buffers are allocated in `init`; the steps allocate nothing, take no lock and do no I/O.
/// One thread at a time may step a model.
package final class LMModel: @unchecked Sendable {
    package let weights: LMWeights
    package var config: LMConfig { weights.config }
    package let pool: ThreadPool?
    package let precision: MatvecPrecision
    package let cachePrecision: KVCachePrecision
    let temporal: TemporalTransformer
    let depformer: Depformer
    private let textHead: Matvec
    private let row: FloatBuffer
    /// The last temporal step's input: the embedding sum (`[dim]`).
    package let temporalInput: FloatBuffer
    private let residual: FloatBuffer
    /// The last temporal step's output after `out_norm` (`[dim]`): the text head's and the depformer's input.
    package let temporalOutput: FloatBuffer
    /// The last temporal step's text logits (`[textCardOut]`).
    package let textLogits: FloatBuffer

    /// - Parameters:
    ///   - threads: compute threads (0: one per CPU); ignored when `pool` is given.
    ///   - precision: `.exact` (the reference's numbers) or int8 activations for quantized weights.
    ///   - cachePrecision: how the temporal KV cache stores keys and values.
    package init(weights: LMWeights, pool: ThreadPool? = nil, threads: Int = 1, precision: MatvecPrecision = .exact,
                cachePrecision: KVCachePrecision = .f32) throws(MatvecError) {
        self.weights = weights
        self.pool = pool ?? (threads == 1 ? nil : ThreadPool(threads: threads))
        self.precision = precision
        self.cachePrecision = cachePrecision
        let c = weights.config
        let widest = max(c.dim, c.gatedHidden, c.depformer.dim, c.depformer.gatedHidden)
        let scratch = MatvecScratch(columns: widest)
        temporal = try TemporalTransformer(weights: weights, precision: precision, scratch: scratch, cachePrecision: cachePrecision)
        depformer = try Depformer(weights: weights, precision: precision, scratch: scratch)
        textHead = try Matvec(weights.textHead, precision: precision, scratch: scratch)
        row = FloatBuffer(count: c.dim)
        temporalInput = FloatBuffer(count: c.dim)
        residual = FloatBuffer(count: c.dim)
        temporalOutput = FloatBuffer(count: c.dim)
        textLogits = FloatBuffer(count: c.textCardOut)
    }

    /// Absolute position of the next temporal step (steps since the last reset).
    package var position: Int { temporal.position }

    /// One temporal step. `tokens` holds `1 + n_q` tokens: text, then the audio streams (the
    /// model's codebooks, then the user's). A negative token contributes nothing (the
    /// reference's zero token). Fills `temporalInput`, `temporalOutput` and `textLogits`.
    package func stepTemporal(tokens: UnsafePointer<Int32>) {
        let c = config
        let x = temporalInput.pointer
        x.update(repeating: 0, count: c.dim)
        for stream in 0..<c.inputCodebooks {
            addEmbedding(weights.audioEmbeddings[stream], token: Int(tokens[1 + stream]), to: x)
        }
        addEmbedding(weights.textEmbedding, token: Int(tokens[0]), to: x)
        residual.pointer.update(from: x, count: c.dim)
        weights.outNorm.withUnsafeBufferPointer { outNorm in
            temporal.step(residual.pointer, outNorm: outNorm.baseAddress!, into: temporalOutput.pointer, pool: pool)
        }
        textHead.run(temporalOutput.pointer, into: textLogits.pointer, pool: pool)
    }

    /// Depformer position `k` of the current step: `previousToken` is this step's text token at
    /// k = 0, else the audio token chosen at position k-1. Writes codebook k's logits (`[card]`).
    package func stepDepformer(position k: Int, previousToken: Int32, into logits: UnsafeMutablePointer<Float>) {
        depformer.step(position: k, temporalOut: temporalOutput.pointer, previousToken: Int(previousToken), into: logits, pool: pool)
    }

    /// The output of the depformer's last position before its head (`[depformer dim]`), for tests.
    package var depformerOutput: UnsafePointer<Float> { depformer.lastOutput }

    /// Back to the start of a stream: empty caches, position 0.
    package func reset() { temporal.reset() }

    /// Benchmarks only: continue as if `steps` steps had run (the KV cache is as full as it
    /// would be; its contents are whatever it holds). Timing at full context without running
    /// thousands of steps first.
    package func fastForward(to steps: Int) { for cache in temporal.caches { cache.fastForward(to: steps) } }

    @inline(__always)
    private func addEmbedding(_ table: WeightMatrix, token: Int, to x: UnsafeMutablePointer<Float>) {
        guard token >= 0 && token < table.rows else { return }
        table.dequantizeRows(token ..< token + 1, into: row.pointer)
        addInPlace(row.pointer, to: x, count: table.cols)
    }

    // MARK: memory and traffic

    /// Bytes of the temporal KV cache (all layers, keys and values, full context).
    package var kvCacheBytes: Int { temporal.cacheStorageBytes }

    /// Bytes one generator step reads at the current context fill: weights (each matrix once,
    /// one row per embedding table) plus the keys and values its attention visits.
    package var bytesReadPerStep: Int { weights.bytesReadPerStep + temporal.cacheBytesReadPerStep }

    /// A one-line account of memory, for logs: weights in their stored format plus the cache.
    package var memorySummary: String {
        let gb = { (bytes: Int) in String(format: "%.2f GB", Double(bytes) / 1e9) }
        return "weights \(gb(weights.storedBytes)) (\(weights.formatSummary), \(weights.layout) layout) + KV cache \(gb(kvCacheBytes)) (\(config.context) steps, \(cachePrecision)) = \(gb(weights.storedBytes + kvCacheBytes))"
    }
}
