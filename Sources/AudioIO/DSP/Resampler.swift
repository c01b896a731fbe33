import CSpeexDSP

/// A sample-rate converter over speexdsp (`speex_resampler_init`, freed with
/// `speex_resampler_destroy`), for interleaved float audio.
///
/// Equal input and output rates bypass speexdsp entirely, so 24 kHz audio stays bit-exact.
/// Streaming use (`process`) writes into caller-provided buffers and allocates nothing; whole
/// signals go through `resample(_:from:to:channelCount:quality:)`, which also removes the
/// filter's delay so the output lines up with the input. Not thread-safe.
package final class Resampler {
    /// speexdsp quality for files: 10 is the best (and slowest).
    package static let fileQuality = 10
    /// speexdsp quality for live audio: 5 is speexdsp's VoIP default, cheap and good for speech.
    package static let liveQuality = 5
    /// The rates we accept, in Hz.
    package static let supportedRates = 1000...1_536_000

    /// Frames per second in.
    package let inputRate: Int
    /// Frames per second out.
    package let outputRate: Int
    /// Interleaved channels, in and out.
    package let channelCount: Int
    /// speexdsp quality 0...10.
    package let quality: Int
    private let state: OpaquePointer?  // nil when the rates are equal (bypass)

    /// Wraps `speex_resampler_init`.
    package init(from inputRate: Int, to outputRate: Int, channelCount: Int = 1, quality: Int = Resampler.fileQuality) throws(ResamplerError) {
        guard Self.supportedRates.contains(inputRate), Self.supportedRates.contains(outputRate) else {
            throw ResamplerError(call: "speex_resampler_init", invalidArgument: "rates \(inputRate) -> \(outputRate) Hz outside \(Self.supportedRates)")
        }
        guard (1...64).contains(channelCount) else { throw ResamplerError(call: "speex_resampler_init", invalidArgument: "\(channelCount) channels") }
        guard (0...10).contains(quality) else { throw ResamplerError(call: "speex_resampler_init", invalidArgument: "quality \(quality) outside 0...10") }
        self.inputRate = inputRate
        self.outputRate = outputRate
        self.channelCount = channelCount
        self.quality = quality
        if inputRate == outputRate {
            state = nil
        } else {
            var error: Int32 = 0
            let created = speex_resampler_init(UInt32(channelCount), UInt32(inputRate), UInt32(outputRate), Int32(quality), &error)
            guard let created, error == 0 else {
                if let created { speex_resampler_destroy(created) }
                throw ResamplerError(call: "speex_resampler_init", code: error == 0 ? Int32(RESAMPLER_ERR_ALLOC_FAILED) : error)
            }
            state = created
        }
    }

    deinit { if let state { speex_resampler_destroy(state) } }

    /// Whether the rates are equal and samples are copied unchanged.
    package var isBypass: Bool { state == nil }

    /// The filter's delay in input frames (`speex_resampler_get_input_latency`); 0 in bypass.
    package var inputLatency: Int { state.map { Int(speex_resampler_get_input_latency($0)) } ?? 0 }

    /// An output capacity in frames that always holds the result of `inputFrames` of input.
    package func outputCapacity(forInputFrames inputFrames: Int) -> Int {
        (inputFrames * outputRate + inputRate - 1) / inputRate + 2
    }

    /// Wraps `speex_resampler_process_interleaved_float`: converts as much of `input` as
    /// `output` has room for and returns the frames consumed and produced. Input not consumed
    /// must be passed again.
    package func process(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) throws(ResamplerError) -> (consumed: Int, produced: Int) {
        let inputFrames = input.count / channelCount, outputFrames = output.count / channelCount
        guard let state else {
            let frames = min(inputFrames, outputFrames)
            if frames > 0, let source = input.baseAddress, let destination = output.baseAddress {
                destination.update(from: source, count: frames * channelCount)
            }
            return (frames, frames)
        }
        guard inputFrames > 0, outputFrames > 0, let source = input.baseAddress, let destination = output.baseAddress else { return (0, 0) }
        var consumed = UInt32(clamping: inputFrames), produced = UInt32(clamping: outputFrames)
        let error = speex_resampler_process_interleaved_float(state, source, &consumed, destination, &produced)
        guard error == 0 else { throw ResamplerError(call: "speex_resampler_process_interleaved_float", code: error) }
        return (Int(consumed), Int(produced))
    }

    /// Wraps `speex_resampler_reset_mem`: forget the signal history.
    package func reset() {
        if let state { speex_resampler_reset_mem(state) }
    }

    /// Converts a whole interleaved signal from `inputRate` to `outputRate`. The output has
    /// round(frames * outputRate / inputRate) frames and is time-aligned with the input
    /// (`speex_resampler_skip_zeros` at the start, the filter flushed with zeros at the end).
    /// Equal rates return the input unchanged.
    package static func resample(_ samples: [Float], from inputRate: Int, to outputRate: Int, channelCount: Int = 1, quality: Int = fileQuality) throws(ResamplerError) -> [Float] {
        if inputRate == outputRate { return samples }
        let resampler = try Resampler(from: inputRate, to: outputRate, channelCount: channelCount, quality: quality)
        guard let state = resampler.state else { return samples }
        speex_resampler_skip_zeros(state)
        let inputFrames = samples.count / channelCount
        let targetFrames = Int((Int64(inputFrames) * Int64(outputRate) + Int64(inputRate / 2)) / Int64(inputRate))
        var output = [Float](repeating: 0, count: (resampler.outputCapacity(forInputFrames: inputFrames + resampler.inputLatency) + 16) * channelCount)
        var produced = 0
        let flush = [Float](repeating: 0, count: (resampler.inputLatency + 8) * channelCount)
        for chunk in [Array(samples.prefix(inputFrames * channelCount)), flush] {
            var consumed = 0
            while consumed < chunk.count / channelCount, produced < output.count / channelCount {
                let step = try chunk.withUnsafeBufferPointer { (input) throws(ResamplerError) in
                    try output.withUnsafeMutableBufferPointer { (out) throws(ResamplerError) in
                        try resampler.process(UnsafeBufferPointer(rebasing: input[(consumed * channelCount)...]),
                                              into: UnsafeMutableBufferPointer(rebasing: out[(produced * channelCount)...]))
                    }
                }
                if step.consumed == 0 && step.produced == 0 { break }
                consumed += step.consumed
                produced += step.produced
            }
        }
        let frames = min(targetFrames, produced)
        output.removeSubrange((frames * channelCount)...)
        if frames < targetFrames { output += [Float](repeating: 0, count: (targetFrames - frames) * channelCount) }
        return output
    }
}
