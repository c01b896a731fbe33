import COpus
import Testing
@testable import AudioIO

@Suite struct OpusCodecTests {
    @Test func lookaheadIs156SamplesForVoipAnd60ForLowDelayAt24kHz() throws {
        #expect(try OpusEncoder(application: .voip).lookahead == 156)
        #expect(try OpusEncoder(application: .audio).lookahead == 156)
        #expect(try OpusEncoder(application: .restrictedLowDelay).lookahead == 60)
        #expect(try OpusEncoder().preSkip48k == 312)
    }

    @Test func settingsAreAppliedAndReadBack() throws {
        let encoder = try OpusEncoder()
        try encoder.setBitrate(24000)
        try encoder.setComplexity(7)
        try encoder.setVariableBitrate(false)
        #expect(encoder.bitrate == 24000)
        #expect(encoder.complexity == 7)
        #expect(!encoder.isVariableBitrate)
        #expect(throws: OpusError.self) { try encoder.setComplexity(11) }
        #expect(throws: OpusError.self) { try encoder.setBitrate(100) }
    }

    @Test(arguments: OpusFrameDuration.allCases)
    func floatRoundTripCorrelatesAtEveryFrameDuration(duration: OpusFrameDuration) throws {
        let frameSize = duration.samples(atRate: 24000)
        let signal = TestSignal.speechLike(sampleRate: 24000, seconds: 1.2, seed: 7)
        let frames = signal.count / frameSize
        let encoder = try OpusEncoder()
        try encoder.setBitrate(32000)
        let decoder = try OpusDecoder()
        var packet = [UInt8](repeating: 0, count: OpusEncoder.maximumPacketSize)
        var pcm = [Float](repeating: 0, count: decoder.maximumFrameSize)
        var decoded: [Float] = []
        for f in 0..<frames {
            let length = try signal.withUnsafeBufferPointer { input in
                try packet.withUnsafeMutableBufferPointer { try encoder.encode(UnsafeBufferPointer(rebasing: input[(f * frameSize)..<((f + 1) * frameSize)]), into: $0) }
            }
            #expect(length > 0 && length < 1500)
            #expect(try packet.withUnsafeBufferPointer { try OpusDecoder.sampleCount(ofPacket: UnsafeBufferPointer(rebasing: $0[0..<length]), atRate: 24000) } == frameSize)
            let count = try packet.withUnsafeBufferPointer { bytes in
                try pcm.withUnsafeMutableBufferPointer { try decoder.decode(UnsafeBufferPointer(rebasing: bytes[0..<length]), into: $0) }
            }
            #expect(count == frameSize)
            decoded += pcm[0..<count]
        }
        #expect(decoded.count == frames * frameSize)
        // Decoded output lags the input by the lookahead (156 samples).
        let aligned = Measure.correlation(decoded, Array(signal.prefix(decoded.count)), lag: 156)
        #expect(aligned > 0.9, "correlation \(aligned) at \(duration.rawValue) ms")
    }

    @Test func int16RoundTripCorrelates() throws {
        let frameSize = 1920
        let signal = TestSignal.sine(frequency: 440, sampleRate: 24000, count: frameSize * 6).map { Int16($0 * 20000) }
        let encoder = try OpusEncoder(application: .audio)
        let decoder = try OpusDecoder()
        var packet = [UInt8](repeating: 0, count: 4000)
        var pcm = [Int16](repeating: 0, count: frameSize)
        var decoded: [Float] = []
        for f in 0..<6 {
            let length = try signal.withUnsafeBufferPointer { input in
                try packet.withUnsafeMutableBufferPointer { try encoder.encode(UnsafeBufferPointer(rebasing: input[(f * frameSize)..<((f + 1) * frameSize)]), into: $0) }
            }
            let count = try packet.withUnsafeBufferPointer { bytes in
                try pcm.withUnsafeMutableBufferPointer { try decoder.decode(UnsafeBufferPointer(rebasing: bytes[0..<length]), into: $0) }
            }
            #expect(count == frameSize)
            decoded += pcm.map { Float($0) }
        }
        let c = Measure.correlation(decoded, signal.map { Float($0) }, lag: 156)
        #expect(c > 0.95, "correlation \(c)")
    }

    @Test func packetLossConcealmentFillsAMissingPacketAndDecodingGoesOn() throws {
        let encoder = try OpusEncoder()
        let decoder = try OpusDecoder()
        let signal = TestSignal.sine(frequency: 300, sampleRate: 24000, count: 480 * 10)
        var packets: [[UInt8]] = []
        for f in 0..<10 { packets.append(try encoder.encode(Array(signal[(f * 480)..<((f + 1) * 480)]))) }
        var pcm = [Float](repeating: 0, count: decoder.maximumFrameSize)
        for f in 0..<5 {
            _ = try packets[f].withUnsafeBufferPointer { bytes in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(bytes, into: $0) } }
        }
        // Packet 5 is lost: concealment continues the tone instead of silence.
        let concealed = try pcm.withUnsafeMutableBufferPointer { try decoder.decodeMissing(frameSize: 480, into: $0) }
        #expect(concealed == 480)
        #expect(decoder.lastPacketDuration == 480)
        #expect(Measure.power(pcm[0..<480]) > 0.2 * Measure.power(signal))
        let next = try packets[6].withUnsafeBufferPointer { bytes in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(bytes, into: $0) } }
        #expect(next == 480)
    }

    @Test func badInputIsATypedErrorWithLibopusMessage() throws {
        let encoder = try OpusEncoder()
        let decoder = try OpusDecoder()
        // 30 ms is not an Opus frame size.
        let error = #expect(throws: OpusError.self) { _ = try encoder.encode([Float](repeating: 0, count: 720)) }
        #expect(error?.code == OPUS_BAD_ARG)
        #expect(error?.message.hasPrefix("invalid argument") == true)
        // A packet too short for its own code-3 header is rejected by libopus.
        var pcm = [Float](repeating: 0, count: decoder.maximumFrameSize)
        let corrupt: [UInt8] = [0xFF]
        let decodeError = #expect(throws: OpusError.self) {
            _ = try corrupt.withUnsafeBufferPointer { bytes in try pcm.withUnsafeMutableBufferPointer { try decoder.decode(bytes, into: $0) } }
        }
        #expect(decodeError?.code == OPUS_INVALID_PACKET)
        #expect(decodeError?.message == "corrupted stream")
        // An output buffer shorter than the packet.
        let packet = try encoder.encode([Float](repeating: 0.1, count: 1920))
        var small = [Float](repeating: 0, count: 960)
        let smallError = #expect(throws: OpusError.self) {
            _ = try packet.withUnsafeBufferPointer { bytes in try small.withUnsafeMutableBufferPointer { try decoder.decode(bytes, into: $0) } }
        }
        #expect(smallError?.code == OPUS_BUFFER_TOO_SMALL)
        #expect(throws: OpusError.self) { _ = try OpusEncoder(sampleRate: 44100) }
        #expect(throws: OpusError.self) { _ = try OpusDecoder(channelCount: 3) }
    }
}
