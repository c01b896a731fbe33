import CALSA
import Synchronization

/// An ALSA PCM device opened for capture or playback (`snd_pcm_open`, closed with
/// `snd_pcm_close`), driven in blocking mode one model frame at a time: 24 kHz mono float
/// samples, 1920 frames (80 ms) per read or write.
///
/// The device runs at 24 kHz mono when it can. When it refuses (many cards only do 44.1 or
/// 48 kHz, or only stereo), it runs at its own rate and channel count and we convert: speexdsp
/// for the rate, averaging or duplication for the channels. S16_LE is asked for first, FLOAT_LE
/// is the fallback (or the other way round, `PCMDeviceConfiguration.format`).
///
/// xruns (-EPIPE) and suspends (-ESTRPIPE) are recovered with `snd_pcm_recover`, counted in
/// `xrunCount` and reported to `onXrun`; the stream goes on. Any other failure, a device that
/// disappeared included (`ALSAError.deviceDisappeared`), is thrown.
///
/// Threading: `read` and `write` block until the device has room or data, so call them from a
/// dedicated thread (the frame loop's capture and playback threads, through Engine's
/// `ALSACaptureSource` and `ALSAPlaybackSink`), never from Swift's cooperative pool. One
/// thread at a time uses a device; `xrunCount` may be read from any thread. Reads and writes
/// allocate nothing.
package final class PCMDevice: @unchecked Sendable {
    /// The ALSA name it was opened with (`default`, `hw:1,0`, `plughw:1,0`, ...).
    package let name: String
    /// Capture or playback.
    package let direction: PCMDirection
    /// What was asked for.
    package let configuration: PCMDeviceConfiguration
    /// The rate the device actually runs at.
    package let deviceRate: Int
    /// The channels the device actually runs with.
    package let deviceChannelCount: Int
    /// The sample format the device actually runs in.
    package let deviceFormat: PCMSampleFormat
    /// Device frames per period, as the device set it.
    package let devicePeriodFrames: Int
    /// Device frames in the whole buffer, as the device set it.
    package let deviceBufferFrames: Int

    /// Samples per read or write at `configuration.sampleRate` (1920).
    package var framesPerPeriod: Int { configuration.framesPerPeriod }
    /// Whether we convert the rate ourselves because the device did not take 24 kHz.
    package var isResampling: Bool { resampler.map { !$0.isBypass } ?? false }
    /// Xruns and suspends recovered from so far.
    package var xrunCount: Int { xruns.load(ordering: .relaxed) }

    private let handle: OpaquePointer
    private let lconf: ALSAConfiguration?
    private let onXrun: (@Sendable (PCMXrun) -> Void)?
    private let xruns = Atomic<Int>(0)
    private let resampler: Resampler?
    private let deviceBytes: UnsafeMutableRawPointer      // one period (or one resampled frame) in device format
    private let deviceBytesFrames: Int
    private let monoAtDeviceRate: UnsafeMutablePointer<Float>
    private let fifo: SampleFIFO                            // capture: 24 kHz samples not read yet
    private let resampled: UnsafeMutablePointer<Float>      // resampler output scratch
    private let resampledCapacity: Int

    /// Wraps `snd_pcm_open` (or `snd_pcm_open_lconf` with `alsaConfiguration`) and sets the
    /// hardware (`snd_pcm_hw_params_*`, through `snd_pcm_hw_params_malloc`) and software
    /// (`snd_pcm_sw_params_*`) parameters.
    package init(name: String, direction: PCMDirection, configuration: PCMDeviceConfiguration = PCMDeviceConfiguration(),
                alsaConfiguration: ALSAConfiguration? = nil, onXrun: (@Sendable (PCMXrun) -> Void)? = nil) throws(ALSAError) {
        let c = configuration
        guard c.sampleRate > 0, c.framesPerPeriod > 0, c.periodCount >= 2, c.playbackStartPeriods >= 1 else {
            throw ALSAError(call: "PCMDevice.init", code: -22, device: name,
                            explanation: "invalid configuration: rate \(c.sampleRate), period \(c.framesPerPeriod), \(c.periodCount) periods")
        }
        var opened: OpaquePointer?
        let stream = direction == .capture ? SND_PCM_STREAM_CAPTURE : SND_PCM_STREAM_PLAYBACK
        let openResult = name.withCString { cName in
            if let alsaConfiguration { snd_pcm_open_lconf(&opened, cName, stream, 0, alsaConfiguration.handle) }
            else { snd_pcm_open(&opened, cName, stream, 0) }
        }
        _ = try ALSAError.check(openResult, alsaConfiguration == nil ? "snd_pcm_open" : "snd_pcm_open_lconf", device: name)
        guard let opened else { throw ALSAError(call: "snd_pcm_open", code: -12, device: name) }
        handle = opened
        lconf = alsaConfiguration

        let negotiated: Negotiated
        do { negotiated = try Self.negotiate(opened, name: name, direction: direction, configuration: c) } catch {
            snd_pcm_close(opened)
            throw error
        }
        self.name = name
        self.direction = direction
        self.configuration = c
        self.onXrun = onXrun
        deviceRate = negotiated.rate
        deviceChannelCount = negotiated.channels
        deviceFormat = negotiated.format
        devicePeriodFrames = negotiated.periodFrames
        deviceBufferFrames = negotiated.bufferFrames

        if negotiated.rate == c.sampleRate {
            resampler = nil
        } else {
            do {
                resampler = direction == .capture
                    ? try Resampler(from: negotiated.rate, to: c.sampleRate, quality: c.resamplerQuality)
                    : try Resampler(from: c.sampleRate, to: negotiated.rate, quality: c.resamplerQuality)
            } catch {
                snd_pcm_close(opened)
                throw ALSAError(call: "speex_resampler_init", code: -22, device: name, explanation: error.message)
            }
        }
        // Buffers sized once: a capture period, or a playback frame after rate conversion.
        let playbackFrames = (c.framesPerPeriod * negotiated.rate + c.sampleRate - 1) / c.sampleRate + 8
        deviceBytesFrames = max(negotiated.periodFrames, playbackFrames)
        deviceBytes = .allocate(byteCount: deviceBytesFrames * negotiated.channels * negotiated.format.bytesPerSample, alignment: 16)
        monoAtDeviceRate = .allocate(capacity: deviceBytesFrames)
        resampledCapacity = (max(negotiated.periodFrames, c.framesPerPeriod) * max(negotiated.rate, c.sampleRate)) / min(negotiated.rate, c.sampleRate) + 16
        resampled = .allocate(capacity: resampledCapacity)
        fifo = SampleFIFO(capacity: c.framesPerPeriod + resampledCapacity)
    }

    deinit {
        snd_pcm_close(handle)
        deviceBytes.deallocate()
        monoAtDeviceRate.deallocate()
        resampled.deallocate()
        _ = lconf
    }

    private struct Negotiated {
        var rate: Int, channels: Int, format: PCMSampleFormat, periodFrames: Int, bufferFrames: Int
    }

    /// The hw_params / sw_params dance (users-and-platform.md §4): access, format, channels,
    /// rate, period, buffer, then read back what the device chose.
    private static func negotiate(_ pcm: OpaquePointer, name: String, direction: PCMDirection, configuration c: PCMDeviceConfiguration) throws(ALSAError) -> Negotiated {
        var hwOptional: OpaquePointer?
        _ = try ALSAError.check(snd_pcm_hw_params_malloc(&hwOptional), "snd_pcm_hw_params_malloc", device: name)
        guard let hw = hwOptional else { throw ALSAError(call: "snd_pcm_hw_params_malloc", code: -12, device: name) }
        defer { snd_pcm_hw_params_free(hw) }
        _ = try ALSAError.check(snd_pcm_hw_params_any(pcm, hw), "snd_pcm_hw_params_any", device: name)
        _ = try ALSAError.check(snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED), "snd_pcm_hw_params_set_access", device: name)

        var format = c.format
        let alsaFormat = { (f: PCMSampleFormat) in f == .int16 ? SND_PCM_FORMAT_S16_LE : SND_PCM_FORMAT_FLOAT_LE }
        if snd_pcm_hw_params_set_format(pcm, hw, alsaFormat(format)) < 0 {
            format = format == .int16 ? .float32 : .int16
            _ = try ALSAError.check(snd_pcm_hw_params_set_format(pcm, hw, alsaFormat(format)), "snd_pcm_hw_params_set_format", device: name)
        }
        var channels: UInt32 = 1
        _ = try ALSAError.check(snd_pcm_hw_params_set_channels_near(pcm, hw, &channels), "snd_pcm_hw_params_set_channels_near", device: name)
        _ = try ALSAError.check(snd_pcm_hw_params_set_rate_resample(pcm, hw, c.allowsALSAResampling ? 1 : 0), "snd_pcm_hw_params_set_rate_resample", device: name)
        var rate = UInt32(c.deviceRate ?? c.sampleRate)
        var rounding: Int32 = 0
        _ = try ALSAError.check(snd_pcm_hw_params_set_rate_near(pcm, hw, &rate, &rounding), "snd_pcm_hw_params_set_rate_near", device: name)
        guard Resampler.supportedRates.contains(Int(rate)) else {
            throw ALSAError(call: "snd_pcm_hw_params_set_rate_near", code: -22, device: name, explanation: "device rate \(rate) Hz is unusable")
        }
        var period = snd_pcm_uframes_t((c.framesPerPeriod * Int(rate) + c.sampleRate / 2) / c.sampleRate)
        rounding = 0
        _ = try ALSAError.check(snd_pcm_hw_params_set_period_size_near(pcm, hw, &period, &rounding), "snd_pcm_hw_params_set_period_size_near", device: name)
        var buffer = period * snd_pcm_uframes_t(c.periodCount)
        _ = try ALSAError.check(snd_pcm_hw_params_set_buffer_size_near(pcm, hw, &buffer), "snd_pcm_hw_params_set_buffer_size_near", device: name)
        _ = try ALSAError.check(snd_pcm_hw_params(pcm, hw), "snd_pcm_hw_params", device: name)
        _ = try ALSAError.check(snd_pcm_hw_params_get_period_size(hw, &period, &rounding), "snd_pcm_hw_params_get_period_size", device: name)
        _ = try ALSAError.check(snd_pcm_hw_params_get_buffer_size(hw, &buffer), "snd_pcm_hw_params_get_buffer_size", device: name)
        guard period > 0, period <= 1 << 20, channels > 0, channels <= 64 else {
            throw ALSAError(call: "snd_pcm_hw_params", code: -22, device: name, explanation: "unusable period \(period) or channel count \(channels)")
        }

        var swOptional: OpaquePointer?
        _ = try ALSAError.check(snd_pcm_sw_params_malloc(&swOptional), "snd_pcm_sw_params_malloc", device: name)
        guard let sw = swOptional else { throw ALSAError(call: "snd_pcm_sw_params_malloc", code: -12, device: name) }
        defer { snd_pcm_sw_params_free(sw) }
        _ = try ALSAError.check(snd_pcm_sw_params_current(pcm, sw), "snd_pcm_sw_params_current", device: name)
        _ = try ALSAError.check(snd_pcm_sw_params_set_avail_min(pcm, sw, period), "snd_pcm_sw_params_set_avail_min", device: name)
        // Capture starts with the first read; playback once `playbackStartPeriods` are queued.
        let start = direction == .capture ? 1 : min(buffer, period * snd_pcm_uframes_t(min(c.playbackStartPeriods, c.periodCount)))
        _ = try ALSAError.check(snd_pcm_sw_params_set_start_threshold(pcm, sw, start), "snd_pcm_sw_params_set_start_threshold", device: name)
        _ = try ALSAError.check(snd_pcm_sw_params(pcm, sw), "snd_pcm_sw_params", device: name)
        return Negotiated(rate: Int(rate), channels: Int(channels), format: format, periodFrames: Int(period), bufferFrames: Int(buffer))
    }

    // MARK: Capture

    /// Reads one model frame: fills `frame` (`framesPerPeriod` samples, 24 kHz mono) from the
    /// device, blocking until enough has been captured. Wraps `snd_pcm_readi`, looping over
    /// short reads and recovering from xruns.
    package func read(into frame: UnsafeMutableBufferPointer<Float>) throws(ALSAError) {
        guard direction == .capture else { throw ALSAError(call: "snd_pcm_readi", code: -22, device: name, explanation: "not a capture device") }
        guard frame.count >= framesPerPeriod else {
            throw ALSAError(call: "snd_pcm_readi", code: -22, device: name, explanation: "frame buffer of \(frame.count) < \(framesPerPeriod) samples")
        }
        while fifo.count < framesPerPeriod {
            let frames = try readDevicePeriod()
            if let resampler, !resampler.isBypass {
                var consumed = 0
                while consumed < frames {
                    let step: (consumed: Int, produced: Int)
                    do {
                        step = try resampler.process(UnsafeBufferPointer(start: monoAtDeviceRate + consumed, count: frames - consumed),
                                                     into: UnsafeMutableBufferPointer(start: resampled, count: min(resampledCapacity, fifo.freeCount)))
                    } catch {
                        throw ALSAError(call: "speex_resampler_process_interleaved_float", code: -22, device: name, explanation: error.message)
                    }
                    fifo.push(UnsafeBufferPointer(start: resampled, count: step.produced))
                    consumed += step.consumed
                    if step.consumed == 0 { break }
                }
            } else {
                fifo.push(UnsafeBufferPointer(start: monoAtDeviceRate, count: min(frames, fifo.freeCount)))
            }
        }
        fifo.pop(into: UnsafeMutableBufferPointer(rebasing: frame[0..<framesPerPeriod]))
    }

    /// One device period into `monoAtDeviceRate`, channels averaged; returns its frame count.
    private func readDevicePeriod() throws(ALSAError) -> Int {
        let frameBytes = deviceChannelCount * deviceFormat.bytesPerSample
        var filled = 0
        while filled < devicePeriodFrames {
            let result = snd_pcm_readi(handle, deviceBytes + filled * frameBytes, snd_pcm_uframes_t(devicePeriodFrames - filled))
            if result < 0 {
                try recover(from: Int32(result), call: "snd_pcm_readi")
            } else {
                filled += Int(result)
            }
        }
        convertToMono(frames: filled)
        return filled
    }

    private func convertToMono(frames: Int) {
        let channels = deviceChannelCount
        let scale = 1 / Float(channels)
        switch deviceFormat {
        case .int16:
            let samples = deviceBytes.assumingMemoryBound(to: Int16.self)
            for frame in 0..<frames {
                var sum: Float = 0
                for channel in 0..<channels { sum += Float(samples[frame * channels + channel]) }
                monoAtDeviceRate[frame] = sum * scale / 32768
            }
        case .float32:
            let samples = deviceBytes.assumingMemoryBound(to: Float.self)
            for frame in 0..<frames {
                var sum: Float = 0
                for channel in 0..<channels { sum += samples[frame * channels + channel] }
                monoAtDeviceRate[frame] = sum * scale
            }
        }
    }

    // MARK: Playback

    /// Plays one model frame (`framesPerPeriod` samples, 24 kHz mono), blocking until the
    /// device has room. Wraps `snd_pcm_writei`, looping over short writes and recovering from
    /// underruns (the stream restarts once `playbackStartPeriods` are queued again).
    package func write(_ frame: UnsafeBufferPointer<Float>) throws(ALSAError) {
        guard direction == .playback else { throw ALSAError(call: "snd_pcm_writei", code: -22, device: name, explanation: "not a playback device") }
        guard frame.count == framesPerPeriod, let source = frame.baseAddress else {
            throw ALSAError(call: "snd_pcm_writei", code: -22, device: name, explanation: "frame of \(frame.count) samples, expected \(framesPerPeriod)")
        }
        var frames = framesPerPeriod
        var mono = UnsafePointer(source)
        if let resampler, !resampler.isBypass {
            var consumed = 0, produced = 0
            while consumed < framesPerPeriod, produced < deviceBytesFrames {
                let step: (consumed: Int, produced: Int)
                do {
                    step = try resampler.process(UnsafeBufferPointer(start: source + consumed, count: framesPerPeriod - consumed),
                                                 into: UnsafeMutableBufferPointer(start: monoAtDeviceRate + produced, count: deviceBytesFrames - produced))
                } catch {
                    throw ALSAError(call: "speex_resampler_process_interleaved_float", code: -22, device: name, explanation: error.message)
                }
                consumed += step.consumed
                produced += step.produced
                if step.consumed == 0 && step.produced == 0 { break }
            }
            frames = produced
            mono = UnsafePointer(monoAtDeviceRate)
        }
        convertFromMono(mono, frames: frames)
        try writeAll(frames: frames)
    }

    private func convertFromMono(_ mono: UnsafePointer<Float>, frames: Int) {
        let channels = deviceChannelCount
        switch deviceFormat {
        case .int16:
            let samples = deviceBytes.assumingMemoryBound(to: Int16.self)
            for frame in 0..<frames {
                let scaled = (mono[frame] * 32768).rounded()
                let value: Int16 = scaled >= 32767 ? 32767 : scaled <= -32768 ? -32768 : scaled.isNaN ? 0 : Int16(scaled)
                for channel in 0..<channels { samples[frame * channels + channel] = value }
            }
        case .float32:
            let samples = deviceBytes.assumingMemoryBound(to: Float.self)
            for frame in 0..<frames {
                for channel in 0..<channels { samples[frame * channels + channel] = mono[frame] }
            }
        }
    }

    private func writeAll(frames: Int) throws(ALSAError) {
        let frameBytes = deviceChannelCount * deviceFormat.bytesPerSample
        var written = 0
        while written < frames {
            let result = snd_pcm_writei(handle, deviceBytes + written * frameBytes, snd_pcm_uframes_t(frames - written))
            if result < 0 {
                try recover(from: Int32(result), call: "snd_pcm_writei")
            } else {
                written += Int(result)
            }
        }
    }

    /// Wraps `snd_pcm_drain`: blocks until everything queued for playback has been played.
    package func drain() throws(ALSAError) {
        _ = try ALSAError.check(snd_pcm_drain(handle), "snd_pcm_drain", device: name)
    }

    /// Wraps `snd_pcm_drop` then `snd_pcm_prepare`: discards what is queued or captured and
    /// readies the stream to start again.
    package func discard() throws(ALSAError) {
        _ = try ALSAError.check(snd_pcm_drop(handle), "snd_pcm_drop", device: name)
        _ = try ALSAError.check(snd_pcm_prepare(handle), "snd_pcm_prepare", device: name)
        fifo.removeAll()
        resampler?.reset()
    }

    // MARK: Recovery

    /// Applies `PCMRecovery` to a negative return of `call`: `snd_pcm_recover` (silently; we
    /// count and report instead of alsa-lib printing to stderr) for xruns, suspends and
    /// signals, `snd_pcm_wait` for -EAGAIN, and a thrown `ALSAError` for everything else.
    func recover(from code: Int32, call: String) throws(ALSAError) {
        let policy = PCMRecovery(code: code)
        switch policy {
        case .fail:
            throw ALSAError(call: call, code: code, device: name)
        case .retry:
            _ = snd_pcm_wait(handle, 100)
        case .xrun, .suspended, .interrupted:
            let recovered = snd_pcm_recover(handle, code, 1)
            if recovered < 0 { throw ALSAError(call: "snd_pcm_recover", code: recovered, device: name) }
            if policy != .interrupted {
                let count = xruns.add(1, ordering: .relaxed).newValue
                onXrun?(PCMXrun(device: name, direction: direction, suspended: policy == .suspended, count: count))
            }
        }
    }
}
