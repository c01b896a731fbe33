import COpus

/// An Opus decoder that owns its libopus handle (`opus_decoder_create`, freed with
/// `opus_decoder_destroy`). 24 kHz mono by default.
///
/// Decoding writes into caller-provided buffers and allocates nothing. A missing packet is
/// concealed by libopus' packet-loss concealment (`decodeMissing`). Not thread-safe.
package final class OpusDecoder {
    private let handle: OpaquePointer
    /// Samples per second per channel of the PCM this decoder produces.
    package let sampleRate: Int
    /// Interleaved channels of the PCM this decoder produces (1 or 2).
    package let channelCount: Int

    /// Samples per channel in the longest Opus packet (120 ms): an output buffer of this many
    /// frames never fails for space.
    package var maximumFrameSize: Int { sampleRate * 120 / 1000 }

    /// Wraps `opus_decoder_create`.
    package init(sampleRate: Int = 24000, channelCount: Int = 1) throws(OpusError) {
        guard OpusSampleRate.supported.contains(sampleRate) else {
            throw OpusError(call: "opus_decoder_create", badArgument: "sample rate \(sampleRate) is not 8, 12, 16, 24 or 48 kHz")
        }
        guard channelCount == 1 || channelCount == 2 else {
            throw OpusError(call: "opus_decoder_create", badArgument: "\(channelCount) channels (1 or 2 only)")
        }
        var error: Int32 = OPUS_OK
        let created = opus_decoder_create(Int32(sampleRate), Int32(channelCount), &error)
        guard error == OPUS_OK, let created else { throw OpusError(call: "opus_decoder_create", code: error == OPUS_OK ? OPUS_ALLOC_FAIL : error) }
        handle = created
        self.sampleRate = sampleRate
        self.channelCount = channelCount
    }

    deinit { opus_decoder_destroy(handle) }

    /// Wraps `opus_decode_float`: decodes one packet into interleaved PCM and returns the number
    /// of samples per channel written. `pcm` must hold the packet's duration
    /// (`maximumFrameSize * channelCount` always does). With `fec`, decodes the forward error
    /// correction data this packet carries for the previous, lost one.
    package func decode(_ packet: UnsafeBufferPointer<UInt8>, into pcm: UnsafeMutableBufferPointer<Float>, fec: Bool = false) throws(OpusError) -> Int {
        guard let data = packet.baseAddress, packet.count > 0 else {
            throw OpusError(call: "opus_decode_float", badArgument: "empty packet (use decodeMissing for a lost one)")
        }
        guard let output = pcm.baseAddress else { throw OpusError(call: "opus_decode_float", badArgument: "empty output buffer") }
        let frames = opus_decode_float(handle, data, Int32(clamping: packet.count), output, Int32(clamping: pcm.count / channelCount), fec ? 1 : 0)
        return Int(try OpusError.check(frames, "opus_decode_float"))
    }

    /// Wraps `opus_decode`: as `decode(_:into:fec:)` for 16-bit PCM.
    package func decode(_ packet: UnsafeBufferPointer<UInt8>, into pcm: UnsafeMutableBufferPointer<Int16>, fec: Bool = false) throws(OpusError) -> Int {
        guard let data = packet.baseAddress, packet.count > 0 else {
            throw OpusError(call: "opus_decode", badArgument: "empty packet (use decodeMissing for a lost one)")
        }
        guard let output = pcm.baseAddress else { throw OpusError(call: "opus_decode", badArgument: "empty output buffer") }
        let frames = opus_decode(handle, data, Int32(clamping: packet.count), output, Int32(clamping: pcm.count / channelCount), fec ? 1 : 0)
        return Int(try OpusError.check(frames, "opus_decode"))
    }

    /// Wraps `opus_decode_float` with a NULL packet: packet-loss concealment for one missing
    /// packet of `frameSize` samples per channel (a multiple of 2.5 ms), written into `pcm`.
    package func decodeMissing(frameSize: Int, into pcm: UnsafeMutableBufferPointer<Float>) throws(OpusError) -> Int {
        guard frameSize > 0, frameSize * channelCount <= pcm.count, let output = pcm.baseAddress else {
            throw OpusError(call: "opus_decode_float", badArgument: "\(frameSize) concealed samples do not fit \(pcm.count / channelCount)")
        }
        let frames = opus_decode_float(handle, nil, 0, output, Int32(frameSize), 0)
        return Int(try OpusError.check(frames, "opus_decode_float"))
    }

    /// Wraps `opus_decode` with a NULL packet: 16-bit packet-loss concealment.
    package func decodeMissing(frameSize: Int, into pcm: UnsafeMutableBufferPointer<Int16>) throws(OpusError) -> Int {
        guard frameSize > 0, frameSize * channelCount <= pcm.count, let output = pcm.baseAddress else {
            throw OpusError(call: "opus_decode", badArgument: "\(frameSize) concealed samples do not fit \(pcm.count / channelCount)")
        }
        let frames = opus_decode(handle, nil, 0, output, Int32(frameSize), 0)
        return Int(try OpusError.check(frames, "opus_decode"))
    }

    /// Duration of the last decoded or concealed packet in samples per channel
    /// (`OPUS_GET_LAST_PACKET_DURATION`).
    package var lastPacketDuration: Int { var v: Int32 = 0; _ = moshi_opus_decoder_get_last_packet_duration(handle, &v); return Int(v) }

    /// Wraps `OPUS_RESET_STATE`: forget the signal history, as for a new stream.
    package func reset() throws(OpusError) {
        _ = try OpusError.check(moshi_opus_decoder_reset(handle), "OPUS_RESET_STATE")
    }

    /// Wraps `opus_packet_get_nb_samples`: the packet's duration in samples per channel at
    /// `sampleRate`, read from its TOC byte without decoding.
    package static func sampleCount(ofPacket packet: UnsafeBufferPointer<UInt8>, atRate sampleRate: Int) throws(OpusError) -> Int {
        guard let data = packet.baseAddress, packet.count > 0 else {
            throw OpusError(call: "opus_packet_get_nb_samples", badArgument: "empty packet")
        }
        return Int(try OpusError.check(opus_packet_get_nb_samples(data, Int32(clamping: packet.count), Int32(sampleRate)), "opus_packet_get_nb_samples"))
    }
}
