import COpus

/// A failed libopus call: the negative return code and `opus_strerror`'s text for it.
package struct OpusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The libopus function that failed, e.g. `"opus_encode_float"`.
    package let call: String
    /// The libopus error code (`OPUS_BAD_ARG`, `OPUS_INVALID_PACKET`, ...), always negative.
    package let code: Int32
    /// `opus_strerror(code)`, or our own words where the check happened before libopus was called.
    package let message: String

    /// Wraps `opus_strerror`: the library's message for `code`.
    package init(call: String, code: Int32) {
        self.call = call
        self.code = code
        self.message = String(cString: opus_strerror(code))
    }

    /// A bad argument found before calling libopus; carries `OPUS_BAD_ARG` and our explanation.
    package init(call: String, badArgument explanation: String) {
        self.call = call
        self.code = OPUS_BAD_ARG
        self.message = "\(String(cString: opus_strerror(OPUS_BAD_ARG))): \(explanation)"
    }

    package var description: String { "\(call) failed (\(code)): \(message)" }

    /// Returns `result` when it is not negative and throws it as an `OpusError` otherwise.
    @inline(__always)
    static func check(_ result: Int32, _ call: String) throws(OpusError) -> Int32 {
        if result < 0 { throw OpusError(call: call, code: result) }
        return result
    }
}
