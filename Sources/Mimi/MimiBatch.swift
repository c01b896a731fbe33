import MoshiNumerics

/// One frame of several streams' Mimi encoders (or decoders) at once, each stream with its own
/// state. The layers that read many weights for few rows run once for all streams, each weight
/// read once, products split over the pool: the transformer (8 layers, ~100 MB, 2 steps per
/// frame; `StreamingTransformerBatch`), and the convolutions at SEANet's bottom (the encoder's
/// last downsampling and output convs and Mimi's downsampling; the decoder's input conv and first
/// upsampling: ~90 MB together), and the quantizer (8 codebooks, 16 MB). The layers heavy in
/// arithmetic and light in weights (SEANet's upper stages) run per stream, streams side by side
/// on the pool's threads (one stream per thread at a time: its products then run on that
/// thread, split into the same pieces as alone). Every row goes through the same few-row kernel as alone, so every stream's codes
/// and audio are bit for bit those it gets stepped alone.
///
/// Allocation-free after `init`; one caller at a time.
package final class MimiBatch: @unchecked Sendable {
    package let capacity: Int
    private let transformers: StreamingTransformerBatch
    private let members: UnsafeMutablePointer<Unmanaged<StreamingTransformer>>
    private let rows: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    /// Stacked rows of the batched convolutions: their left sides and their outputs.
    private let stackedInput: FloatBuffer
    private let stackedOutput: FloatBuffer
    private let stackedSpill: FloatBuffer
    /// The streams' latents and the quantizer's scratch (`SplitResidualQuantizer.encode(batch:)`).
    private let latents: UnsafeMutablePointer<UnsafePointer<Float>>
    private let quantizerScratch: FloatBuffer
    /// Whether the transformer may be batched: its steps per frame run on the few-row kernel
    /// alone too (true for Mimi's 2 steps per frame).
    private let batchesTransformer: Bool

    /// - Parameter weights: the streams' weights (they size the stacked buffers).
    package init(weights: MimiWeights, capacity: Int) {
        precondition(capacity >= 1, "MimiBatch: capacity \(capacity)")
        let config = weights.config
        self.capacity = capacity
        transformers = StreamingTransformerBatch(config: config, capacity: capacity)
        members = .allocate(capacity: capacity)
        rows = .allocate(capacity: capacity)
        batchesTransformer = config.stepsPerFrame <= DenseProduct.fewRowLimit
        let steps = config.stepsPerFrame
        let convs = [weights.encoderStages.last!.downsample, weights.encoderOutput, weights.downsample, weights.decoderInput]
        let firstUpsample = weights.decoderStages[0].upsample
        let inputWidth = max(convs.map(\.windowLength).max()!, firstUpsample.inChannels)
        let outputWidth = max(convs.map(\.outChannels).max()!, firstUpsample.blockLength)
        stackedInput = FloatBuffer(count: capacity * steps * inputWidth)
        stackedOutput = FloatBuffer(count: capacity * steps * outputWidth)
        stackedSpill = FloatBuffer(count: capacity * steps * firstUpsample.blockLength)
        latents = .allocate(capacity: capacity)
        quantizerScratch = FloatBuffer(count: SplitResidualQuantizer.batchScratchCount(streams: capacity, config: config))
    }

    deinit {
        members.deallocate()
        rows.deallocate()
        latents.deallocate()
    }

    /// Encodes one frame of each of `count` streams: `encoders[i]` over `samples[i]`
    /// (`frameSize` samples) into `codes[i]` (`codebooks` codes).
    package func encode(_ encoders: UnsafePointer<Unmanaged<MimiEncoder>>, samples: UnsafePointer<UnsafePointer<Float>>,
                       codes: UnsafePointer<UnsafeMutablePointer<Int32>>, count: Int, pool: ThreadPool?) {
        precondition(count >= 0 && count <= capacity, "MimiBatch.encode: \(count) streams (capacity \(capacity))")
        guard count > 1, batchesTransformer else {
            for i in 0..<count {
                encoders[i].takeUnretainedValue().step(UnsafeBufferPointer(start: samples[i], count: encoders[i].takeUnretainedValue().frameSize),
                                                       codes: UnsafeMutableBufferPointer(start: codes[i], count: encoders[i].takeUnretainedValue().codebooks))
            }
            return
        }
        var job = Job(encoders: encoders, decoders: nil, samples: samples, outputs: nil, codes: codes, inputCodes: nil,
                      rows: rows, part: .seanetEncoder)
        perStream(&job, count: count, pool: pool)
        let first = encoders[0].takeUnretainedValue()
        conv(count, pool: pool, steps: first.seanet.lastDownsampleSteps) { i in
            let seanet = encoders[i].takeUnretainedValue().seanet
            return (seanet.lastDownsample, seanet.output.newSteps)
        }
        for i in 0..<count { encoders[i].takeUnretainedValue().seanet.eluBeforeOutput() }
        conv(count, pool: pool, steps: first.seanet.outputSteps) { i in
            let encoder = encoders[i].takeUnretainedValue()
            return (encoder.seanet.output, encoder.downsample.newSteps)
        }
        for i in 0..<count {
            let encoder = encoders[i].takeUnretainedValue()
            members[i] = Unmanaged.passUnretained(encoder.transformer)
            rows[i] = encoder.downsample.newSteps
        }
        let steps = first.transformer.maxSteps
        transformers.run(members, inputs: rows, count: count, steps: steps, pool: pool)
        conv(count, pool: pool, steps: steps) { i in
            let encoder = encoders[i].takeUnretainedValue()
            return (encoder.downsample, encoder.latent.pointer)
        }
        for i in 0..<count {
            let encoder = encoders[i].takeUnretainedValue()
            encoder.beginQuantize()
            latents[i] = UnsafePointer(encoder.latent.pointer)
        }
        first.quantizer.encode(batch: latents, codes: codes, count: count, scratch: quantizerScratch.pointer, pool: pool)
    }

    /// Decodes one frame of each of `count` streams: `decoders[i]` over `codes[i]` into
    /// `samples[i]` (`frameSize` samples). The codes must be valid (`MimiDecoder.isValid`).
    package func decode(_ decoders: UnsafePointer<Unmanaged<MimiDecoder>>, codes: UnsafePointer<UnsafePointer<Int32>>,
                       samples: UnsafePointer<UnsafeMutablePointer<Float>>, count: Int, pool: ThreadPool?) {
        precondition(count >= 0 && count <= capacity, "MimiBatch.decode: \(count) streams (capacity \(capacity))")
        guard count > 1, batchesTransformer else {
            for i in 0..<count {
                let decoder = decoders[i].takeUnretainedValue()
                let x = decoder.beginStep(codes[i])
                decoder.transformer.run(x, steps: decoder.transformer.maxSteps)
                decoder.finishStep(samples: samples[i])
            }
            return
        }
        var job = Job(encoders: nil, decoders: decoders, samples: nil, outputs: samples, codes: nil, inputCodes: codes,
                      rows: rows, part: .beginDecoder)
        perStream(&job, count: count, pool: pool)
        for i in 0..<count { members[i] = Unmanaged.passUnretained(decoders[i].takeUnretainedValue().transformer) }
        let first = decoders[0].takeUnretainedValue()
        transformers.run(members, inputs: rows, count: count, steps: first.transformer.maxSteps, pool: pool)
        conv(count, pool: pool, steps: first.seanet.stageSteps[0]) { i in
            let seanet = decoders[i].takeUnretainedValue().seanet
            return (seanet.input, seanet.inputOutput.pointer)
        }
        for i in 0..<count { decoders[i].takeUnretainedValue().seanet.eluAfterInput() }
        firstUpsample(decoders, count: count, pool: pool)
        job.part = .seanetDecoder
        perStream(&job, count: count, pool: pool)
    }

    /// One convolution of `count` streams (`layer(i)`: stream i's conv and where its output
    /// goes) as one product of their stacked rows, when each stream's rows are few (the few-row
    /// kernel, as alone); else each stream's conv on its own.
    private func conv(_ count: Int, pool: ThreadPool?, steps: Int,
                      _ layer: (Int) -> (conv: StreamingConv, output: UnsafeMutablePointer<Float>)) {
        let weights = layer(0).conv.weights
        let perStream = steps / weights.stride
        guard perStream <= DenseProduct.fewRowLimit, perStream * weights.windowLength * count <= stackedInput.count,
              perStream * weights.outChannels * count <= stackedOutput.count else {
            for i in 0..<count { let (conv, output) = layer(i); conv.run(steps: steps, into: output) }
            return
        }
        let width = weights.windowLength
        for i in 0..<count {
            let (a, lda, n) = layer(i).conv.prepareProduct(steps: steps)
            for r in 0..<n { (stackedInput.pointer + (i * perStream + r) * width).update(from: a + r * lda, count: width) }
        }
        let out = weights.outChannels
        DenseProduct.fewRows(rows: count * perStream, outputs: out, inner: width, stackedInput.pointer, lda: width,
                             weights.weight, ldw: width, into: stackedOutput.pointer, ldy: out, pool: pool)
        for i in 0..<count {
            let (conv, output) = layer(i)
            output.update(from: stackedOutput.pointer + i * perStream * out, count: perStream * out)
            conv.finishProduct(steps: steps, output: output, rows: perStream)
        }
    }

    /// The decoders' first upsampling (a transposed conv over `stepsPerFrame` rows) as two
    /// products of the stacked rows, as each stream's alone takes two.
    private func firstUpsample(_ decoders: UnsafePointer<Unmanaged<MimiDecoder>>, count: Int, pool: ThreadPool?) {
        let first = decoders[0].takeUnretainedValue().seanet
        let weights = first.stages[0].upsample.weights
        let steps = first.stageSteps[0]
        let cin = weights.inChannels, block = weights.blockLength
        guard steps <= DenseProduct.fewRowLimit else {
            for i in 0..<count {
                let seanet = decoders[i].takeUnretainedValue().seanet
                seanet.stages[0].upsample.run(seanet.inputOutput.pointer, steps: steps, into: seanet.stageOutput(0))
            }
            return
        }
        for i in 0..<count {
            (stackedInput.pointer + i * steps * cin).update(from: decoders[i].takeUnretainedValue().seanet.inputOutput.pointer, count: steps * cin)
        }
        DenseProduct.fewRows(rows: count * steps, outputs: block, inner: cin, stackedInput.pointer, lda: cin,
                             weights.lower, ldw: cin, into: stackedOutput.pointer, ldy: block, pool: pool)
        DenseProduct.fewRows(rows: count * steps, outputs: block, inner: cin, stackedInput.pointer, lda: cin,
                             weights.upper, ldw: cin, into: stackedSpill.pointer, ldy: block, pool: pool)
        for i in 0..<count {
            let seanet = decoders[i].takeUnretainedValue().seanet
            let output = seanet.stageOutput(0)
            output.update(from: stackedOutput.pointer + i * steps * block, count: steps * block)
            seanet.stages[0].upsample.finish(steps: steps, output: output, spill: stackedSpill.pointer + i * steps * block)
        }
    }

    /// The per-stream part of a batched step, for the pool's tasks (no closure context).
    private struct Job {
        enum Part { case seanetEncoder, beginDecoder, seanetDecoder }
        let encoders: UnsafePointer<Unmanaged<MimiEncoder>>?
        let decoders: UnsafePointer<Unmanaged<MimiDecoder>>?
        let samples: UnsafePointer<UnsafePointer<Float>>?
        let outputs: UnsafePointer<UnsafeMutablePointer<Float>>?
        let codes: UnsafePointer<UnsafeMutablePointer<Int32>>?
        let inputCodes: UnsafePointer<UnsafePointer<Int32>>?
        let rows: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
        var part: Part

        func run(_ i: Int) {
            switch part {
            case .seanetEncoder: encoders![i].takeUnretainedValue().seanet.runToLastDownsample(samples![i])
            case .beginDecoder: rows[i] = decoders![i].takeUnretainedValue().beginStep(inputCodes![i])
            case .seanetDecoder: decoders![i].takeUnretainedValue().finishStepFromFirstBlock(samples: outputs![i])
            }
        }
    }

    /// Streams side by side, one per thread, in whole rounds of the pool's threads; the streams
    /// left over (`count % threads`) each run on their own with their products split over the
    /// pool, as alone (a stream's numbers are the same either way). With 5 streams on 2 threads
    /// that is 2 rounds and one stream on both threads, where 5 tasks would leave one thread
    /// idle for a third of the time.
    private func perStream(_ job: inout Job, count: Int, pool: ThreadPool?) {
        guard let pool, pool.threads > 1 else {
            for i in 0..<count { job.run(i) }
            return
        }
        let sideBySide = count / pool.threads * pool.threads
        withUnsafeMutablePointer(to: &job) { job in
            pool.run(tasks: sideBySide, context: UnsafeMutableRawPointer(job)) { raw, task, _ in
                raw!.assumingMemoryBound(to: Job.self).pointee.run(Int(task))
            }
        }
        for i in sideBySide..<count { job.run(i) }
    }
}

extension MimiDecoder {
    /// Whether `codes` is one frame of codes in range (what `step` checks before decoding).
    package func isValid(_ codes: UnsafeBufferPointer<Int32>) -> Bool {
        do { try validate(codes); return true } catch { return false }
    }
}
