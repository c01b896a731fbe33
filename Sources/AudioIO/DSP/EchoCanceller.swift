import CSpeexDSP

/// An acoustic echo canceller over speexdsp (`speex_echo_state_init`, `speex_echo_cancellation`,
/// freed with `speex_echo_state_destroy`), for a user who talks to the box over speakers
/// rather than a headset: it removes from the microphone signal what the speakers played.
///
/// Feed it, frame by frame, the capture (near end, what the mic heard) and the playback (far
/// end, what was sent to the speakers at the same moment); the echo path's delay must be
/// shorter than the filter. Optionally `speex_preprocess_run` with the echo state attached
/// suppresses the residual echo that the linear filter leaves (and denoises).
///
/// Samples are float (nominally -1...1), converted to 16-bit for speexdsp in preallocated
/// buffers: `process` allocates nothing. Not thread-safe: call from the audio thread.
package final class EchoCanceller {
    /// Samples per channel in one speexdsp frame (480 = 20 ms at 24 kHz).
    package let frameSize: Int
    /// Length of the adaptive echo filter in samples (2400 = 100 ms at 24 kHz).
    package let filterLength: Int
    /// The audio's rate in Hz.
    package let sampleRate: Int
    /// Whether `speex_preprocess_run` suppresses residual echo after the linear filter.
    package let suppressesResidualEcho: Bool

    private let echo: OpaquePointer
    private let preprocess: OpaquePointer?
    private let near: UnsafeMutablePointer<Int16>
    private let far: UnsafeMutablePointer<Int16>
    private let cleaned: UnsafeMutablePointer<Int16>

    /// Wraps `speex_echo_state_init` (and `speex_preprocess_state_init` plus
    /// `SPEEX_PREPROCESS_SET_ECHO_STATE` when `suppressResidualEcho`).
    package init(sampleRate: Int = 24000, frameSize: Int = 480, filterLength: Int = 2400, suppressResidualEcho: Bool = false) throws(EchoCancellerError) {
        guard (8000...96000).contains(sampleRate) else { throw .invalidArgument("sample rate \(sampleRate) Hz outside 8000...96000") }
        guard (32...8192).contains(frameSize) else { throw .invalidArgument("frame size \(frameSize) outside 32...8192") }
        guard filterLength >= frameSize, filterLength <= sampleRate else {
            throw .invalidArgument("filter length \(filterLength) must be between the frame size and one second")
        }
        guard let echo = speex_echo_state_init(Int32(frameSize), Int32(filterLength)) else { throw .initializationFailed("speex_echo_state_init") }
        _ = moshi_speex_echo_set_sampling_rate(echo, Int32(sampleRate))
        var preprocess: OpaquePointer?
        if suppressResidualEcho {
            guard let state = speex_preprocess_state_init(Int32(frameSize), Int32(sampleRate)) else {
                speex_echo_state_destroy(echo)
                throw .initializationFailed("speex_preprocess_state_init")
            }
            _ = moshi_speex_preprocess_set_echo_state(state, echo)
            preprocess = state
        }
        self.echo = echo
        self.preprocess = preprocess
        self.frameSize = frameSize
        self.filterLength = filterLength
        self.sampleRate = sampleRate
        self.suppressesResidualEcho = suppressResidualEcho
        near = .allocate(capacity: frameSize)
        far = .allocate(capacity: frameSize)
        cleaned = .allocate(capacity: frameSize)
    }

    deinit {
        if let preprocess { speex_preprocess_state_destroy(preprocess) }
        speex_echo_state_destroy(echo)
        near.deallocate()
        far.deallocate()
        cleaned.deallocate()
    }

    /// Wraps `speex_echo_cancellation` (then `speex_preprocess_run`): removes the echo of
    /// `playback` from `capture` and writes the result to `output`. All three hold the same
    /// number of samples, a multiple of `frameSize` (a 1920-sample model frame is 4 frames of 480).
    package func process(capture: UnsafeBufferPointer<Float>, playback: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) throws(EchoCancellerError) {
        guard capture.count == playback.count, output.count >= capture.count, capture.count % frameSize == 0 else {
            throw .invalidArgument("capture \(capture.count), playback \(playback.count), output \(output.count) samples; frames of \(frameSize)")
        }
        for start in stride(from: 0, to: capture.count, by: frameSize) {
            for i in 0..<frameSize {
                near[i] = Self.toInt16(capture[start + i])
                far[i] = Self.toInt16(playback[start + i])
            }
            speex_echo_cancellation(echo, near, far, cleaned)
            if let preprocess { _ = speex_preprocess_run(preprocess, cleaned) }
            for i in 0..<frameSize { output[start + i] = Float(cleaned[i]) / 32768 }
        }
    }

    /// Wraps `speex_echo_state_reset`: forget the learned echo path.
    package func reset() { speex_echo_state_reset(echo) }

    @inline(__always)
    private static func toInt16(_ sample: Float) -> Int16 {
        let scaled = (sample * 32768).rounded()
        return scaled >= 32767 ? 32767 : scaled <= -32768 ? -32768 : scaled.isNaN ? 0 : Int16(scaled)
    }
}

/// Why an `EchoCanceller` could not be made or used.
package enum EchoCancellerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A size or rate out of range, or mismatched buffers.
    case invalidArgument(String)
    /// A speexdsp constructor returned NULL.
    case initializationFailed(String)

    package var description: String {
        switch self {
        case .invalidArgument(let why): "echo canceller: \(why)"
        case .initializationFailed(let call): "echo canceller: \(call) failed"
        }
    }
}
