import Foundation
import Synchronization
import Testing
@testable import AudioIO

/// ALSA capture and playback without a sound card: `file` plugin devices over the `null` PCM,
/// defined in a configuration built per test and opened with `snd_pcm_open_lconf`. These
/// plugins are not paced in real time; nothing here waits on ALSA for a clock.
@Suite struct PCMDeviceTests {
    /// A fake microphone reading raw little-endian samples from `input` and a speaker writing
    /// what it is given to `output`.
    static func configuration(input: String, output: String) throws -> ALSAConfiguration {
        try ALSAConfiguration(text: """
            pcm.moshi_mic { type file slave.pcm { type null } file "/dev/null" infile "\(input)" format raw }
            pcm.moshi_speaker { type file slave.pcm { type null } file "\(output)" format raw }
            """)
    }

    static func rawInt16(_ samples: [Int16]) -> Data { samples.withUnsafeBytes { Data($0) } }

    static func readInt16(_ path: String) throws -> [Int16] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
    }

    /// 8 frames of a deterministic 16-bit signal, written as the fake mic's input.
    static func micInput(_ directory: TemporaryDirectory, frames: Int = 8, rate: Int = 24000) throws -> [Int16] {
        let signal = TestSignal.speechLike(sampleRate: rate, seconds: Double(frames * 1920) / 24000, seed: 17).map { Int16($0 * 30000) }
        try rawInt16(signal).write(to: URL(fileURLWithPath: directory.path("in.raw")))
        return signal
    }

    @Test func captureDeliversTheFakeMicrophoneSamplesExactly() throws {
        let directory = TemporaryDirectory()
        let input = try Self.micInput(directory)
        let alsa = try Self.configuration(input: directory.path("in.raw"), output: directory.path("out.raw"))
        let mic = try PCMDevice(name: "moshi_mic", direction: .capture, alsaConfiguration: alsa)
        #expect(mic.deviceRate == 24000 && mic.deviceChannelCount == 1 && mic.deviceFormat == .int16)
        #expect(mic.devicePeriodFrames == 1920 && mic.deviceBufferFrames == 4 * 1920 && !mic.isResampling)
        var frame = [Float](repeating: 0, count: 1920)
        var captured: [Float] = []
        for _ in 0..<6 {
            try frame.withUnsafeMutableBufferPointer { try mic.read(into: $0) }
            captured += frame
        }
        #expect(captured == input.prefix(6 * 1920).map { Float($0) / 32768 })
        #expect(mic.xrunCount == 0)
    }

    @Test func floatCaptureAndPlaybackUseFloatLE() throws {
        let directory = TemporaryDirectory()
        let input = TestSignal.sine(frequency: 440, sampleRate: 24000, count: 4 * 1920)
        try input.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: directory.path("in.raw")))
        let alsa = try Self.configuration(input: directory.path("in.raw"), output: directory.path("out.raw"))
        var configuration = PCMDeviceConfiguration()
        configuration.format = .float32
        let mic = try PCMDevice(name: "moshi_mic", direction: .capture, configuration: configuration, alsaConfiguration: alsa)
        #expect(mic.deviceFormat == .float32)
        var frame = [Float](repeating: 0, count: 1920)
        try frame.withUnsafeMutableBufferPointer { try mic.read(into: $0) }
        #expect(frame == Array(input.prefix(1920)))

        do {
            let speaker = try PCMDevice(name: "moshi_speaker", direction: .playback, configuration: configuration, alsaConfiguration: alsa)
            for f in 0..<4 { try input.withUnsafeBufferPointer { try speaker.write(UnsafeBufferPointer(rebasing: $0[(f * 1920)..<((f + 1) * 1920)])) } }
            try speaker.drain()
        }
        let played = try Data(contentsOf: URL(fileURLWithPath: directory.path("out.raw"))).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        #expect(played == input)
    }

    @Test func playbackWritesExactlyWhatWasSent() throws {
        let directory = TemporaryDirectory()
        let alsa = try Self.configuration(input: "/dev/null", output: directory.path("out.raw"))
        let sent = TestSignal.speechLike(sampleRate: 24000, seconds: 0.8, seed: 4).map { Float(Int16($0 * 30000)) / 32768 }
        do {
            let speaker = try PCMDevice(name: "moshi_speaker", direction: .playback, alsaConfiguration: alsa)
            for f in 0..<(sent.count / 1920) {
                try sent.withUnsafeBufferPointer { try speaker.write(UnsafeBufferPointer(rebasing: $0[(f * 1920)..<((f + 1) * 1920)])) }
            }
            try speaker.drain()
            #expect(speaker.xrunCount == 0)
        }
        let played = try Self.readInt16(directory.path("out.raw"))
        #expect(played.map { Float($0) / 32768 } == sent)
    }

    @Test func aDeviceAt48kHzIsResampledToAndFrom24kHz() throws {
        let directory = TemporaryDirectory()
        // The fake mic holds a 48 kHz tone; we ask the device for 48 kHz and read 24 kHz frames.
        let tone48 = TestSignal.sine(frequency: 1000, sampleRate: 48000, count: 48000).map { Int16($0 * 30000) }
        try Self.rawInt16(tone48).write(to: URL(fileURLWithPath: directory.path("in.raw")))
        let alsa = try Self.configuration(input: directory.path("in.raw"), output: directory.path("out.raw"))
        var configuration = PCMDeviceConfiguration()
        configuration.deviceRate = 48000
        let mic = try PCMDevice(name: "moshi_mic", direction: .capture, configuration: configuration, alsaConfiguration: alsa)
        #expect(mic.deviceRate == 48000 && mic.devicePeriodFrames == 3840 && mic.isResampling)
        var frame = [Float](repeating: 0, count: 1920)
        var captured: [Float] = []
        for _ in 0..<6 {
            try frame.withUnsafeMutableBufferPointer { try mic.read(into: $0) }
            captured += frame
        }
        #expect(abs(Measure.zeroCrossingFrequency(captured[2000...], sampleRate: 24000) - 1000) < 3)
        #expect(abs(Measure.power(captured[2000...]) - 0.5 * pow(30000.0 / 32768 * 0.5, 2)) < 0.01)

        let sent = TestSignal.sine(frequency: 500, sampleRate: 24000, count: 8 * 1920)
        do {
            let speaker = try PCMDevice(name: "moshi_speaker", direction: .playback, configuration: configuration, alsaConfiguration: alsa)
            #expect(speaker.deviceRate == 48000 && speaker.isResampling)
            for f in 0..<8 { try sent.withUnsafeBufferPointer { try speaker.write(UnsafeBufferPointer(rebasing: $0[(f * 1920)..<((f + 1) * 1920)])) } }
            try speaker.drain()
        }
        let played = try Self.readInt16(directory.path("out.raw")).map { Float($0) / 32768 }
        #expect(abs(played.count - 2 * sent.count) < 64)
        #expect(abs(Measure.zeroCrossingFrequency(played[4000...], sampleRate: 48000) - 500) < 3)
    }

    @Test func xrunsAreRecoveredCountedAndReportedAndTheStreamGoesOn() throws {
        let directory = TemporaryDirectory()
        let input = try Self.micInput(directory)
        let alsa = try Self.configuration(input: directory.path("in.raw"), output: "/dev/null")
        let reports = Mutex<[PCMXrun]>([])
        let mic = try PCMDevice(name: "moshi_mic", direction: .capture, alsaConfiguration: alsa,
                                onXrun: { xrun in reports.withLock { $0.append(xrun) } })
        var frame = [Float](repeating: 0, count: 1920)
        try frame.withUnsafeMutableBufferPointer { try mic.read(into: $0) }
        // What snd_pcm_readi returns on an overrun and on a suspend, handled on the live device.
        try mic.recover(from: -EPIPE, call: "snd_pcm_readi")
        try mic.recover(from: -ESTRPIPE, call: "snd_pcm_readi")
        try mic.recover(from: -EINTR, call: "snd_pcm_readi")  // not an xrun
        #expect(mic.xrunCount == 2)
        #expect(reports.withLock { $0 } == [
            PCMXrun(device: "moshi_mic", direction: .capture, suspended: false, count: 1),
            PCMXrun(device: "moshi_mic", direction: .capture, suspended: true, count: 2),
        ])
        try frame.withUnsafeMutableBufferPointer { try mic.read(into: $0) }
        #expect(frame == input[1920..<3840].map { Float($0) / 32768 })
    }

    @Test func aVanishedDeviceIsAThrownErrorNotACrash() throws {
        let alsa = try Self.configuration(input: "/dev/null", output: "/dev/null")
        let speaker = try PCMDevice(name: "moshi_speaker", direction: .playback, alsaConfiguration: alsa)
        for code in [-ENODEV, -EBADFD, -ENXIO] {
            let error = #expect(throws: ALSAError.self) { try speaker.recover(from: code, call: "snd_pcm_writei") }
            #expect(error?.deviceDisappeared == true)
            #expect(error?.message == String(cString: strerror(-code)))
        }
        let other = #expect(throws: ALSAError.self) { try speaker.recover(from: -EIO, call: "snd_pcm_writei") }
        #expect(other?.deviceDisappeared == false && other?.description.contains("moshi_speaker") == true)
        #expect(speaker.xrunCount == 0)
    }

    @Test func recoveryPolicyCoversEveryErrno() {
        #expect(PCMRecovery(code: -EPIPE) == .xrun)
        #expect(PCMRecovery(code: -ESTRPIPE) == .suspended)
        #expect(PCMRecovery(code: -EINTR) == .interrupted)
        #expect(PCMRecovery(code: -EAGAIN) == .retry)
        for code in [-ENODEV, -EBADFD, -EIO, -EINVAL, -ENOMEM] { #expect(PCMRecovery(code: code) == .fail) }
    }

    @Test func openingAMissingDeviceOrBadConfigurationIsAnALSAError() throws {
        let alsa = try Self.configuration(input: "/dev/null", output: "/dev/null")
        let missing = #expect(throws: ALSAError.self) { _ = try PCMDevice(name: "no_such_device", direction: .capture, alsaConfiguration: alsa) }
        #expect(missing?.call == "snd_pcm_open_lconf" && missing?.code == -ENOENT && missing?.message == "No such file or directory")
        #expect(throws: ALSAError.self) { _ = try ALSAConfiguration(text: "pcm.broken { type file ") }
        var configuration = PCMDeviceConfiguration()
        configuration.periodCount = 1
        #expect(throws: ALSAError.self) { _ = try PCMDevice(name: "moshi_mic", direction: .capture, configuration: configuration, alsaConfiguration: alsa) }
        let speaker = try PCMDevice(name: "moshi_speaker", direction: .playback, alsaConfiguration: alsa)
        var frame = [Float](repeating: 0, count: 1920)
        #expect(throws: ALSAError.self) { try frame.withUnsafeMutableBufferPointer { try speaker.read(into: $0) } }
        do {
            try frame.withUnsafeMutableBufferPointer { try speaker.read(into: $0) }
        } catch {
            #expect("\(error)".contains("not a capture device"))
        }
        #expect(throws: ALSAError.self) { try frame.withUnsafeBufferPointer { try speaker.write(UnsafeBufferPointer(rebasing: $0[0..<100])) } }
    }

    @Test func listingNamesTheNullDevice() throws {
        let devices = try PCMDevice.list()
        let null = try #require(devices.first { $0.name == "null" })
        #expect(null.canCapture && null.canPlay && null.description.contains("Discard all samples"))
        #expect(PCMDevice.soundCards().allSatisfy { !$0.name.isEmpty })
    }

    /// Polls `condition` for up to 10 s (the plugins run as fast as the CPU allows).
    static func wait(_ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(10)
        while !condition() {
            guard Date() < deadline else { throw CancellationError() }
            Thread.sleep(forTimeInterval: 0.002)
        }
    }
}
