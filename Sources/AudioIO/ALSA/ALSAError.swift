import CALSA

/// A failed ALSA call: the negative errno it returned and `snd_strerror`'s text for it.
package struct ALSAError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The alsa-lib function that failed, e.g. `"snd_pcm_open"`.
    package let call: String
    /// The negative errno ALSA returned (-ENODEV, -EINVAL, ...).
    package let code: Int32
    /// `snd_strerror(code)`, or our own words for a check made before calling ALSA.
    package let message: String
    /// The device the call was about, when there is one.
    package let device: String?

    /// Wraps `snd_strerror`: the library's message for `code`.
    package init(call: String, code: Int32, device: String? = nil) {
        self.call = call
        self.code = code
        self.message = String(cString: snd_strerror(code))
        self.device = device
    }

    /// A configuration the device refused, found by us rather than by an ALSA return code.
    package init(call: String, code: Int32, device: String?, explanation: String) {
        self.call = call
        self.code = code
        self.message = explanation
        self.device = device
    }

    /// Whether the device went away (a USB headset unplugged): -ENODEV, -ENXIO or -EBADFD.
    /// The session using it is over; reopen the device or pick another.
    package var deviceDisappeared: Bool {
        code == moshi_alsa_enodev() || code == moshi_alsa_enxio() || code == moshi_alsa_ebadfd()
    }

    package var description: String {
        "\(call)\(device.map { " on \"\($0)\"" } ?? "") failed (\(code)): \(message)"
    }

    /// Returns `result` when it is not negative and throws it as an `ALSAError` otherwise.
    @inline(__always)
    static func check(_ result: Int32, _ call: String, device: String?) throws(ALSAError) -> Int32 {
        if result < 0 { throw ALSAError(call: call, code: result, device: device) }
        return result
    }
}
