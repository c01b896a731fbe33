import AudioIO

/// A microphone: frames read from an ALSA capture `PCMDevice` (which converts the device's
/// rate and channels to 24 kHz mono and recovers from overruns, counted in `xrunCount`).
package final class ALSACaptureSource: AudioSource {
    /// The device read from.
    package let device: PCMDevice
    package let isDevicePaced: Bool

    /// Reads `device` (opened for `.capture`). `devicePaced`: whether the device delivers in
    /// real time (a sound card; the default). ALSA's `file`/`null` plugins deliver at once, so
    /// tests pass false and the loop paces reads on its clock.
    package init(device: PCMDevice, devicePaced: Bool = true) {
        precondition(device.direction == .capture, "ALSACaptureSource needs a capture device")
        precondition(device.framesPerPeriod == FrameTiming.samplesPerFrame, "ALSACaptureSource needs 1920-sample periods")
        self.device = device
        self.isDevicePaced = devicePaced
    }

    /// Opens the ALSA capture device `name` (`default`, `hw:1,0`, a name from `alsaConfiguration`).
    package convenience init(name: String, configuration: PCMDeviceConfiguration = PCMDeviceConfiguration(),
                            alsaConfiguration: ALSAConfiguration? = nil, devicePaced: Bool = true) throws {
        self.init(device: try PCMDevice(name: name, direction: .capture, configuration: configuration, alsaConfiguration: alsaConfiguration),
                  devicePaced: devicePaced)
    }

    package var description: String { "ALSA capture \(device.name) (\(device.deviceRate) Hz, \(device.deviceChannelCount) ch)" }

    package var xrunCount: Int { device.xrunCount }

    package func read(into frame: UnsafeMutablePointer<Float>) throws -> Bool {
        try device.read(into: UnsafeMutableBufferPointer(start: frame, count: FrameTiming.samplesPerFrame))
        return true
    }

    package func stop() { try? device.discard() }
}
