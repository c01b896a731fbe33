import MoshiNumerics

/// One frame of several streams' Mimi encoders (or decoders) at once, each stream with its own
/// state. The parts that are cheap in weights and heavy in arithmetic (SEANet, the down- and
/// upsampling, the quantizer) run per stream, streams side by side on the pool's threads (one
/// stream per thread at a time: its products then run on that thread, split into the same
/// pieces as alone); the transformer, whose 8 layers read ~100 MB of weights for 2 steps, runs
/// once for all streams (`StreamingTransformerBatch`), each matrix read once, its products split
/// over the pool. Every stream's codes and audio are bit for bit those it gets stepped alone.
///
/// Allocation-free after `init`; one caller at a time.
package final class MimiBatch: @unchecked Sendable {
    package let capacity: Int
    private let transformers: StreamingTransformerBatch
    private let members: UnsafeMutablePointer<Unmanaged<StreamingTransformer>>
    private let rows: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    /// Whether the transformer may be batched: its steps per frame run on the few-row kernel
    /// alone too (true for Mimi's 2 steps per frame).
    private let batchesTransformer: Bool

    package init(config: MimiConfig, capacity: Int) {
        precondition(capacity >= 1, "MimiBatch: capacity \(capacity)")
        self.capacity = capacity
        transformers = StreamingTransformerBatch(config: config, capacity: capacity)
        members = .allocate(capacity: capacity)
        rows = .allocate(capacity: capacity)
        batchesTransformer = config.stepsPerFrame <= DenseProduct.fewRowLimit
    }

    deinit {
        members.deallocate()
        rows.deallocate()
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
        for i in 0..<count { members[i] = Unmanaged.passUnretained(encoders[i].takeUnretainedValue().transformer) }
        transformers.run(members, inputs: rows, count: count, steps: members[0].takeUnretainedValue().maxSteps, pool: pool)
        job.part = .finishEncoder
        perStream(&job, count: count, pool: pool)
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
        transformers.run(members, inputs: rows, count: count, steps: members[0].takeUnretainedValue().maxSteps, pool: pool)
        job.part = .seanetDecoder
        perStream(&job, count: count, pool: pool)
    }

    /// The per-stream part of a batched step, for the pool's tasks (no closure context).
    private struct Job {
        enum Part { case seanetEncoder, finishEncoder, beginDecoder, seanetDecoder }
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
            case .seanetEncoder: rows[i] = encoders![i].takeUnretainedValue().runSEANet(samples![i])
            case .finishEncoder: encoders![i].takeUnretainedValue().finishStep(codes: codes![i])
            case .beginDecoder: rows[i] = decoders![i].takeUnretainedValue().beginStep(inputCodes![i])
            case .seanetDecoder: decoders![i].takeUnretainedValue().finishStep(samples: outputs![i])
            }
        }
    }

    private func perStream(_ job: inout Job, count: Int, pool: ThreadPool?) {
        guard let pool, pool.threads > 1 else {
            for i in 0..<count { job.run(i) }
            return
        }
        withUnsafeMutablePointer(to: &job) { job in
            pool.run(tasks: count, context: UnsafeMutableRawPointer(job)) { raw, task, _ in
                raw!.assumingMemoryBound(to: Job.self).pointee.run(Int(task))
            }
        }
    }
}

extension MimiDecoder {
    /// Whether `codes` is one frame of codes in range (what `step` checks before decoding).
    package func isValid(_ codes: UnsafeBufferPointer<Int32>) -> Bool {
        do { try validate(codes); return true } catch { return false }
    }
}
