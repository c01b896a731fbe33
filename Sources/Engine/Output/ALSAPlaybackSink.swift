import AudioIO

/// A loudspeaker: frames written to an ALSA playback `PCMDevice` (which converts 24 kHz mono
/// to the device's rate and channels and recovers from underruns, counted in `xrunCount`).
package final class ALSAPlaybackSink: AudioSink {
    /// The device written to.
    package let device: PCMDevice
    package let isDevicePaced: Bool

    /// Writes `device` (opened for `.playback`). `devicePaced`: whether the device plays in real
    /// time (a sound card; the default). ALSA's `file`/`null` plugins take frames at once; tests
    /// pass false and the sink then gets exactly one frame per captured frame.
    package init(device: PCMDevice, devicePaced: Bool = true) {
        precondition(device.direction == .playback, "ALSAPlaybackSink needs a playback device")
        precondition(device.framesPerPeriod == FrameTiming.samplesPerFrame, "ALSAPlaybackSink needs 1920-sample periods")
        self.device = device
        self.isDevicePaced = devicePaced
    }

    /// Opens the ALSA playback device `name` (`default`, `hw:1,0`, a name from `alsaConfiguration`).
    package convenience init(name: String, configuration: PCMDeviceConfiguration = PCMDeviceConfiguration(),
                            alsaConfiguration: ALSAConfiguration? = nil, devicePaced: Bool = true) throws {
        self.init(device: try PCMDevice(name: name, direction: .playback, configuration: configuration, alsaConfiguration: alsaConfiguration),
                  devicePaced: devicePaced)
    }

    package var description: String { "ALSA playback \(device.name) (\(device.deviceRate) Hz, \(device.deviceChannelCount) ch)" }

    package var xrunCount: Int { device.xrunCount }

    package func write(_ frame: UnsafePointer<Float>) throws {
        try device.write(UnsafeBufferPointer(start: frame, count: FrameTiming.samplesPerFrame))
    }

    /// Plays what is queued to the end (`snd_pcm_drain`).
    package func finish() throws { try device.drain() }
}
