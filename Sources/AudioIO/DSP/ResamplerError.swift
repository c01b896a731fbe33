import CSpeexDSP

/// A failed speexdsp resampler call, with `speex_resampler_strerror`'s text.
package struct ResamplerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The speexdsp function that failed, e.g. `"speex_resampler_init"`.
    package let call: String
    /// The speexdsp error code (`RESAMPLER_ERR_*`).
    package let code: Int32
    /// `speex_resampler_strerror(code)`, or our words for a check made before calling speexdsp.
    package let message: String

    /// Wraps `speex_resampler_strerror`.
    init(call: String, code: Int32) {
        self.call = call
        self.code = code
        self.message = String(cString: speex_resampler_strerror(code))
    }

    init(call: String, invalidArgument explanation: String) {
        self.call = call
        self.code = Int32(RESAMPLER_ERR_INVALID_ARG)
        self.message = "\(String(cString: speex_resampler_strerror(code))): \(explanation)"
    }

    package var description: String { "\(call) failed (\(code)): \(message)" }
}
