#if canImport(Glibc)
import Glibc
#endif
import MoshiNumerics
import Weights

/// Up to `capacity` independent conversations stepped together over one `LMWeights`: one read
/// of the weights serves every session. A step runs the temporal transformer on every submitted
/// session as `n` rows (each weight matrix multiplied with the `n` activation rows in one pass,
/// `Matvec.runBatch`), attention per session against its own KV cache at its own position, the
/// text head, then the depformer's position k for all `n` sessions together, k = 0..<dep_q.
/// Each session keeps its own caches, sampling settings and seed (`LMStreamState`), and gets the
/// tokens and logits it would get stepped alone by `LMGenerator` (the batched products compute
/// each row with the single-vector kernel, in the same order).
///
/// Sessions `join` and `leave` between steps; a session not submitted for a step is left as it
/// is. All buffers are allocated in `init` for `capacity` sessions; `submit` and `step` allocate
/// nothing and take no lock. One thread at a time may use a batch.
package final class LMBatch: @unchecked Sendable {
    package let weights: LMWeights
    package var config: LMConfig { weights.config }
    package let capacity: Int
    package let pool: ThreadPool?
    package let precision: MatvecPrecision
    private let sessions: [LMBatchSession]
    /// The slot of each row of the current step (`[capacity]`).
    private let rowSlots: UnsafeMutablePointer<Int>
    private var rows = 0

    // Temporal transformer.
    private let temporalLayers: [TransformerLayer]
    private let temporalStepper: TransformerLayerStepper
    private let temporalRope: RotaryEmbedding?
    private let textHead: Matvec
    private let embeddingRow: FloatBuffer       // [max(dim, depformer dim)]
    private let x: FloatBuffer                  // [capacity, dim]
    private let temporalOut: FloatBuffer        // [capacity, dim]
    private let textLogitRows: FloatBuffer      // [capacity, textCardOut]
    private let cosines: FloatBuffer            // [capacity, headDim / 2]
    private let sines: FloatBuffer
    private let previousTokens: UnsafeMutablePointer<Int32>  // [capacity]

    // Depformer.
    private let depformerInputs: [Matvec]
    private let audioHeads: [Matvec]
    private let depformerEmbeddings: [WeightMatrix]
    /// `[layer][weight set]`.
    private let depformerLayers: [[TransformerLayer]]
    private let depformerStepper: TransformerLayerStepper
    private let depformerRope: RotaryEmbedding?
    private let depformerX: FloatBuffer         // [capacity, depformer dim]
    private let audioLogitRows: FloatBuffer     // [capacity, card]
    private let depformerCosines: FloatBuffer   // [capacity, depformer headDim / 2]
    private let depformerSines: FloatBuffer

    /// Nanoseconds the last step spent in the temporal transformer (text head and sampling
    /// included) and in the depformer, for all its sessions together.
    package private(set) var temporalNanoseconds: UInt64 = 0
    package private(set) var depformerNanoseconds: UInt64 = 0

    /// - Parameters:
    ///   - capacity: the most sessions stepped together (every buffer is sized for it).
    ///   - threads: compute threads (0: one per CPU); ignored when `pool` is given.
    ///   - cacheContext: entries of each session's temporal KV ring; nil takes the config's
    ///     `context` (what the reference does). Benchmarks that time a step at a small context
    ///     fill pass less, to hold many sessions of a 7B model in memory.
    package init(weights: LMWeights, capacity: Int, pool: ThreadPool? = nil, threads: Int = 1,
                precision: MatvecPrecision = .exact, cachePrecision: KVCachePrecision = .f32,
                cacheContext: Int? = nil) throws(MatvecError) {
        precondition(capacity >= 1, "LMBatch: capacity \(capacity)")
        self.weights = weights
        self.capacity = capacity
        self.pool = pool ?? (threads == 1 ? nil : ThreadPool(threads: threads))
        self.precision = precision
        let c = weights.config
        let d = c.depformer
        let widest = max(c.dim, c.gatedHidden, d.dim, d.gatedHidden)
        let scratch = MatvecScratch(columns: widest, vectors: capacity)
        temporalLayers = try TransformerLayer.temporal(weights, precision: precision, scratch: scratch)
        temporalStepper = TransformerLayerStepper(temporal: c, rows: capacity)
        temporalRope = c.positionalEncoding == .rope ? RotaryEmbedding(headDim: c.headDim, maxPeriod: Float(c.maxPeriod)) : nil
        textHead = try Matvec(weights.textHead, precision: precision, scratch: scratch)
        embeddingRow = FloatBuffer(count: max(c.dim, d.dim))
        x = FloatBuffer(count: capacity * c.dim)
        temporalOut = FloatBuffer(count: capacity * c.dim)
        textLogitRows = FloatBuffer(count: capacity * c.textCardOut)
        cosines = FloatBuffer(count: capacity * max(c.headDim / 2, 1))
        sines = FloatBuffer(count: capacity * max(c.headDim / 2, 1))
        previousTokens = .allocate(capacity: capacity)
        previousTokens.initialize(repeating: 0, count: capacity)

        depformerInputs = try weights.depformerInputs.map { m throws(MatvecError) in try Matvec(m, precision: precision, scratch: scratch) }
        audioHeads = try weights.audioHeads.map { m throws(MatvecError) in try Matvec(m, precision: precision, scratch: scratch) }
        depformerEmbeddings = weights.depformerEmbeddings
        depformerLayers = try TransformerLayer.depformer(weights, precision: precision, scratch: scratch)
        depformerStepper = TransformerLayerStepper(depformer: c, rows: capacity)
        depformerRope = d.positionalEncoding == .rope ? RotaryEmbedding(headDim: d.headDim, maxPeriod: Float(d.maxPeriod)) : nil
        depformerX = FloatBuffer(count: capacity * d.dim)
        audioLogitRows = FloatBuffer(count: capacity * c.audioCard)
        depformerCosines = FloatBuffer(count: capacity * max(d.headDim / 2, 1))
        depformerSines = FloatBuffer(count: capacity * max(d.headDim / 2, 1))

        sessions = (0..<capacity).map { _ in LMBatchSession(config: c, cachePrecision: cachePrecision, context: cacheContext ?? c.context) }
        rowSlots = .allocate(capacity: capacity)
        rowSlots.initialize(repeating: -1, count: capacity)
    }

    deinit {
        rowSlots.deallocate()
        previousTokens.deallocate()
    }

    // MARK: sessions

    /// Sessions in the batch now.
    package var activeSessions: Int { sessions.reduce(0) { $0 + ($1.active ? 1 : 0) } }

    /// A new conversation at position 0 with its own sampling and seed, in a free slot; nil when
    /// the batch is full. Takes effect at the next step; the other sessions are untouched.
    package func join(sampling: LMSampling = .referenceDefaults, seed: UInt64 = 0) -> Int? {
        guard let slot = sessions.firstIndex(where: { !$0.active }) else { return nil }
        sessions[slot].restart(sampling: sampling, seed: seed)
        sessions[slot].active = true
        return slot
    }

    /// Ends the conversation in `slot` and frees the slot.
    package func leave(_ slot: Int) {
        precondition(sessions[slot].active, "LMBatch.leave: slot \(slot) is free")
        sessions[slot].active = false
        sessions[slot].ready = false
    }

    /// The token bookkeeping of the session in `slot`: its frame (`frameTextToken`,
    /// `frameAudioCode(_:)`), its chosen tokens, its sampling settings.
    package func streams(_ slot: Int) -> LMStreamState { sessions[slot].streams }

    /// The session's position: temporal steps since it joined.
    package func position(_ slot: Int) -> Int { sessions[slot].position }

    /// Whether the session's last step returned a frame.
    package func produced(_ slot: Int) -> Bool { sessions[slot].produced }

    /// The session's text logits at its last step (`[textCardOut]`; valid until the next step).
    package func textLogits(_ slot: Int) -> UnsafePointer<Float> {
        precondition(sessions[slot].row >= 0, "LMBatch.textLogits: slot \(slot) was not in the last step")
        return UnsafePointer(textLogitRows.pointer + sessions[slot].row * config.textCardOut)
    }

    /// The session's depformer logits at its last step (`[dep_q, card]`).
    package func audioLogits(_ slot: Int) -> UnsafePointer<Float> { UnsafePointer(sessions[slot].audioLogits.pointer) }

    /// Gives the session in `slot` its user codes for the next step (`userCodes[0..<count]`,
    /// semantic first), as `LMGenerator.step` takes them.
    package func submit(_ slot: Int, userCodes: UnsafePointer<Int32>, count: Int) {
        let s = sessions[slot]
        precondition(s.active && !s.ready, "LMBatch.submit: slot \(slot) is free or already submitted")
        s.streams.beginStep(userCodes: userCodes, count: count)
        s.ready = true
    }

    /// Steps every submitted session together; returns how many. Afterwards each of them has
    /// `produced(slot)` and, when true, a new frame in `streams(slot)`.
    @discardableResult
    package func step() -> Int {
        rows = 0
        for (slot, s) in sessions.enumerated() {
            s.row = -1
            if s.active && s.ready {
                s.row = rows
                rowSlots[rows] = slot
                rows += 1
            }
        }
        guard rows > 0 else { return 0 }
        let start = MonotonicTime.nanoseconds()
        stepTemporal()
        let middle = MonotonicTime.nanoseconds()
        stepDepformer()
        for r in 0..<rows {
            let s = sessions[rowSlots[r]]
            s.produced = s.streams.finishStep()
            s.ready = false
        }
        temporalNanoseconds = middle - start
        depformerNanoseconds = MonotonicTime.nanoseconds() - middle
        return rows
    }

    /// Benchmarks only: every session in the batch continues as if `steps` steps had run (see `LMModel.fastForward`).
    package func fastForward(to steps: Int) {
        for s in sessions where s.active { for cache in s.temporalCaches { cache.fastForward(to: steps) } }
    }

    /// Bytes of one session's temporal KV cache.
    package var kvCacheBytesPerSession: Int { sessions.first?.temporalCaches.reduce(0) { $0 + $1.storageBytes } ?? 0 }

    // MARK: the step

    private func stepTemporal() {
        let c = config
        let n = rows
        let half = max(c.headDim / 2, 1)
        for r in 0..<n {
            let s = sessions[rowSlots[r]]
            let xr = x.pointer + r * c.dim
            xr.update(repeating: 0, count: c.dim)
            let tokens = s.streams.inputTokens
            for stream in 0..<c.inputCodebooks {
                addEmbedding(weights.audioEmbeddings[stream], token: Int(tokens[1 + stream]), to: xr)
            }
            addEmbedding(weights.textEmbedding, token: Int(tokens[0]), to: xr)
            temporalRope?.rotation(position: s.position, cos: cosines.pointer + r * half, sin: sines.pointer + r * half)
        }
        for (index, layer) in temporalLayers.enumerated() {
            temporalStepper.run(layer, x.pointer, sequences: n, steps: 1,
                                cache: { self.sessions[self.rowSlots[$0]].temporalCaches[index] },
                                rope: temporalRope, cosines: cosines.pointer, sines: sines.pointer, pool: pool)
        }
        weights.outNorm.withUnsafeBufferPointer { outNorm in
            rmsNorm(x.pointer, alpha: outNorm.baseAddress!, eps: c.normEpsilon, rows: n, channels: c.dim, into: temporalOut.pointer)
        }
        textHead.runBatch(temporalOut.pointer, count: n, into: textLogitRows.pointer, pool: pool)
        for r in 0..<n {
            previousTokens[r] = sessions[rowSlots[r]].streams.chooseText(logits: textLogitRows.pointer + r * c.textCardOut)
        }
    }

    private func stepDepformer() {
        let c = config
        let d = c.depformer
        let n = rows
        let half = max(d.headDim / 2, 1)
        for r in 0..<n { for cache in sessions[rowSlots[r]].depformerCaches { cache.reset() } }
        for k in 0..<c.generatedCodebooks {
            depformerInputs[c.depformerInputProjection(position: k)].runBatch(temporalOut.pointer, count: n, into: depformerX.pointer, pool: pool)
            let table = depformerEmbeddings[k]
            for r in 0..<n {
                let token = Int(previousTokens[r])
                if token >= 0 && token < table.rows {
                    table.dequantizeRows(token ..< token + 1, into: embeddingRow.pointer)
                    addInPlace(embeddingRow.pointer, to: depformerX.pointer + r * d.dim, count: d.dim)
                }
                depformerRope?.rotation(position: k, cos: depformerCosines.pointer + r * half, sin: depformerSines.pointer + r * half)
            }
            let set = c.depformerWeightSet(position: k)
            for (index, layer) in depformerLayers.enumerated() {
                depformerStepper.run(layer[set], depformerX.pointer, sequences: n, steps: 1,
                                     cache: { self.sessions[self.rowSlots[$0]].depformerCaches[index] },
                                     rope: depformerRope, cosines: depformerCosines.pointer, sines: depformerSines.pointer, pool: pool)
            }
            audioHeads[k].runBatch(depformerX.pointer, count: n, into: audioLogitRows.pointer, pool: pool)
            for r in 0..<n {
                let s = sessions[rowSlots[r]]
                let logits = s.audioLogits.pointer + k * c.audioCard
                logits.update(from: audioLogitRows.pointer + r * c.audioCard, count: c.audioCard)
                previousTokens[r] = s.streams.chooseAudio(k, logits: logits)
            }
        }
    }

    @inline(__always)
    private func addEmbedding(_ table: WeightMatrix, token: Int, to x: UnsafeMutablePointer<Float>) {
        guard token >= 0 && token < table.rows else { return }
        table.dequantizeRows(token ..< token + 1, into: embeddingRow.pointer)
        addInPlace(embeddingRow.pointer, to: x, count: table.cols)
    }
}
