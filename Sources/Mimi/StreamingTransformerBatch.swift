import MoshiNumerics

/// Several streams' `StreamingTransformer`s (one per conversation, each with its own KV caches
/// and position) run as one: their rows stacked, each layer goes through the one streaming layer
/// (`TransformerLayerStepper`) with one sequence per stream, so each weight matrix is read once
/// for all of them while norms, RoPE, the caches and attention stay per stream. Every row is
/// computed by the same few-row kernel as when its stream runs alone (a row's result depends
/// neither on the other rows nor on how the columns are split over threads), so each stream's
/// output is bit for bit what it gets alone.
///
/// Scratch is sized at `init` for `capacity` streams; `run` allocates nothing.
final class StreamingTransformerBatch {
    let capacity: Int
    let maxSteps: Int
    let dim: Int
    private let stepper: TransformerLayerStepper
    private let stacked: FloatBuffer     // [capacity * maxSteps, dim]
    private let cosines: FloatBuffer     // [capacity * maxSteps, headDim / 2]
    private let sines: FloatBuffer

    init(config: MimiConfig, capacity: Int) {
        self.capacity = capacity
        maxSteps = config.stepsPerFrame
        dim = config.seanetDimension
        let rows = capacity * maxSteps
        stepper = TransformerLayerStepper(dim: dim, heads: config.transformerHeads, hidden: config.transformerFeedForward,
                                          gated: false, rows: rows)
        stacked = FloatBuffer(count: rows * dim)
        cosines = FloatBuffer(count: rows * config.headDimension / 2)
        sines = FloatBuffer(count: rows * config.headDimension / 2)
    }

    /// Runs `steps` new steps of `count` streams: stream `i` is `transformers[i]` over
    /// `inputs[i]` (`[steps, dim]`, updated in place). The transformers share their weights.
    func run(_ transformers: UnsafePointer<Unmanaged<StreamingTransformer>>, inputs: UnsafePointer<UnsafeMutablePointer<Float>>,
             count: Int, steps: Int, pool: ThreadPool?) {
        precondition(count >= 1 && count <= capacity && steps >= 1 && steps <= maxSteps,
                     "StreamingTransformerBatch.run: \(count) streams of \(steps) steps (at most \(capacity) of \(maxSteps))")
        let first = transformers[0].takeUnretainedValue()
        let d = dim
        let half = first.headDim / 2
        for i in 0..<count {
            (stacked.pointer + i * steps * d).update(from: inputs[i], count: steps * d)
            transformers[i].takeUnretainedValue().prepareRotations(steps: steps, cos: cosines.pointer + i * steps * half,
                                                                    sin: sines.pointer + i * steps * half)
        }
        for (index, layer) in first.layers.enumerated() {
            stepper.run(layer, stacked.pointer, sequences: count, steps: steps,
                        cache: { transformers[$0].takeUnretainedValue().caches[index] }, rope: first.rope,
                        cosines: cosines.pointer, sines: sines.pointer, pool: pool)
        }
        for i in 0..<count { inputs[i].update(from: stacked.pointer + i * steps * d, count: steps * d) }
    }
}
