import COpus

/// An Opus encoder that owns its libopus handle (`opus_encoder_create`, freed with
/// `opus_encoder_destroy`). 24 kHz mono VOIP by default, the model's audio format.
///
/// Encoding writes into caller-provided buffers and allocates nothing. Not thread-safe: use one
/// encoder from one thread at a time.
package final class OpusEncoder {
    private let handle: OpaquePointer
    /// Samples per second per channel of the PCM this encoder takes.
    package let sampleRate: Int
    /// Interleaved channels of the PCM this encoder takes (1 or 2).
    package let channelCount: Int
    /// The coding mode chosen at creation.
    package let application: OpusApplication

    /// The largest Opus packet: 1275 bytes per frame, up to 3 frames in 120 ms, plus a TOC byte
    /// and lengths (RFC 6716 §3.4). Output buffers of this size never fail for space.
    package static let maximumPacketSize = 4000

    /// Wraps `opus_encoder_create`.
    package init(sampleRate: Int = 24000, channelCount: Int = 1, application: OpusApplication = .voip) throws(OpusError) {
        guard OpusSampleRate.supported.contains(sampleRate) else {
            throw OpusError(call: "opus_encoder_create", badArgument: "sample rate \(sampleRate) is not 8, 12, 16, 24 or 48 kHz")
        }
        guard channelCount == 1 || channelCount == 2 else {
            throw OpusError(call: "opus_encoder_create", badArgument: "\(channelCount) channels (1 or 2 only)")
        }
        var error: Int32 = OPUS_OK
        let created = opus_encoder_create(Int32(sampleRate), Int32(channelCount), application.rawValue, &error)
        guard error == OPUS_OK, let created else { throw OpusError(call: "opus_encoder_create", code: error == OPUS_OK ? OPUS_ALLOC_FAIL : error) }
        handle = created
        self.sampleRate = sampleRate
        self.channelCount = channelCount
        self.application = application
    }

    deinit { opus_encoder_destroy(handle) }

    /// Target bitrate in bits per second (`OPUS_SET_BITRATE` / `OPUS_GET_BITRATE`), 6000...510000.
    package var bitrate: Int { var v: Int32 = 0; _ = moshi_opus_get_bitrate(handle, &v); return Int(v) }

    /// Wraps `OPUS_SET_BITRATE`. 24-32 kb/s VBR suits 24 kHz mono speech.
    package func setBitrate(_ bitsPerSecond: Int) throws(OpusError) {
        guard (500...512_000).contains(bitsPerSecond) else {
            throw OpusError(call: "OPUS_SET_BITRATE", badArgument: "\(bitsPerSecond) b/s is outside 500...512000")
        }
        _ = try OpusError.check(moshi_opus_set_bitrate(handle, Int32(bitsPerSecond)), "OPUS_SET_BITRATE")
    }

    /// Computational complexity 0...10 (`OPUS_GET_COMPLEXITY`).
    package var complexity: Int { var v: Int32 = 0; _ = moshi_opus_get_complexity(handle, &v); return Int(v) }

    /// Wraps `OPUS_SET_COMPLEXITY`.
    package func setComplexity(_ complexity: Int) throws(OpusError) {
        guard (0...10).contains(complexity) else {
            throw OpusError(call: "OPUS_SET_COMPLEXITY", badArgument: "complexity \(complexity) is outside 0...10")
        }
        _ = try OpusError.check(moshi_opus_set_complexity(handle, Int32(complexity)), "OPUS_SET_COMPLEXITY")
    }

    /// Whether variable bitrate is on (`OPUS_GET_VBR`); libopus defaults to on.
    package var isVariableBitrate: Bool { var v: Int32 = 0; _ = moshi_opus_get_vbr(handle, &v); return v != 0 }

    /// Wraps `OPUS_SET_VBR`.
    package func setVariableBitrate(_ on: Bool) throws(OpusError) {
        _ = try OpusError.check(moshi_opus_set_vbr(handle, on ? 1 : 0), "OPUS_SET_VBR")
    }

    /// Wraps `OPUS_SET_INBAND_FEC` and `OPUS_SET_PACKET_LOSS_PERC`: in-band forward error
    /// correction tuned for the expected loss percentage (0 turns it off).
    package func setExpectedPacketLoss(percent: Int) throws(OpusError) {
        guard (0...100).contains(percent) else {
            throw OpusError(call: "OPUS_SET_PACKET_LOSS_PERC", badArgument: "\(percent)% is outside 0...100")
        }
        _ = try OpusError.check(moshi_opus_set_inband_fec(handle, percent > 0 ? 1 : 0), "OPUS_SET_INBAND_FEC")
        _ = try OpusError.check(moshi_opus_set_packet_loss_perc(handle, Int32(percent)), "OPUS_SET_PACKET_LOSS_PERC")
    }

    /// The encoder's algorithmic delay in samples at `sampleRate` (`OPUS_GET_LOOKAHEAD`):
    /// 156 at 24 kHz for VOIP and AUDIO (6.5 ms), 60 for restricted low delay.
    package var lookahead: Int { var v: Int32 = 0; _ = moshi_opus_get_lookahead(handle, &v); return Int(v) }

    /// The lookahead counted at 48 kHz: the Ogg Opus pre-skip a decoder drops (RFC 7845 §4.2).
    package var preSkip48k: Int { lookahead * (OpusSampleRate.granuleRate / sampleRate) }

    /// Wraps `opus_encode_float`: encodes one frame of interleaved PCM (nominal range -1...1)
    /// into `packet` and returns the packet's length in bytes. `pcm.count / channelCount` must be
    /// a valid Opus frame size (20, 40, 60 or 80 ms, or 2.5, 5, 10, 100, 120 ms).
    package func encode(_ pcm: UnsafeBufferPointer<Float>, into packet: UnsafeMutableBufferPointer<UInt8>) throws(OpusError) -> Int {
        let frameSize = try checkedFrameSize(pcm.count, call: "opus_encode_float")
        guard let input = pcm.baseAddress, let output = packet.baseAddress else {
            throw OpusError(call: "opus_encode_float", badArgument: "empty buffer")
        }
        let written = opus_encode_float(handle, input, Int32(frameSize), output, Int32(clamping: packet.count))
        return Int(try OpusError.check(written, "opus_encode_float"))
    }

    /// Wraps `opus_encode`: as `encode(_:into:)` for 16-bit PCM.
    package func encode(_ pcm: UnsafeBufferPointer<Int16>, into packet: UnsafeMutableBufferPointer<UInt8>) throws(OpusError) -> Int {
        let frameSize = try checkedFrameSize(pcm.count, call: "opus_encode")
        guard let input = pcm.baseAddress, let output = packet.baseAddress else {
            throw OpusError(call: "opus_encode", badArgument: "empty buffer")
        }
        let written = opus_encode(handle, input, Int32(frameSize), output, Int32(clamping: packet.count))
        return Int(try OpusError.check(written, "opus_encode"))
    }

    /// Convenience for non-real-time callers: encodes one frame and returns a new packet array.
    package func encode(_ pcm: [Float]) throws(OpusError) -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: Self.maximumPacketSize)
        let count = try pcm.withUnsafeBufferPointer { (input) throws(OpusError) -> Int in
            try packet.withUnsafeMutableBufferPointer { (output) throws(OpusError) -> Int in try encode(input, into: output) }
        }
        packet.removeLast(packet.count - count)
        return packet
    }

    /// Wraps `OPUS_RESET_STATE`: forget the signal history, as for a new stream.
    package func reset() throws(OpusError) {
        _ = try OpusError.check(moshi_opus_encoder_reset(handle), "OPUS_RESET_STATE")
    }

    private func checkedFrameSize(_ sampleCount: Int, call: String) throws(OpusError) -> Int {
        guard sampleCount % channelCount == 0 else {
            throw OpusError(call: call, badArgument: "\(sampleCount) samples is not a whole number of \(channelCount)-channel frames")
        }
        let frameSize = sampleCount / channelCount
        // Valid sizes are 2.5 ms times 1, 2, 4, 8 and 20 ms times 2...6 (libopus' frame_size_select).
        let unit = sampleRate / 400
        // A switch, not an array literal's `contains`: nothing is allocated per frame.
        let valid = switch frameSize / unit { case 1, 2, 4, 8, 16, 24, 32, 40, 48: true; default: false }
        guard frameSize > 0, frameSize % unit == 0, valid else {
            throw OpusError(call: call, badArgument: "\(frameSize) samples is not an Opus frame size at \(sampleRate) Hz")
        }
        return frameSize
    }
}
