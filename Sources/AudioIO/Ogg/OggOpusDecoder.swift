/// Decodes an Ogg Opus stream, pushed in pieces, to 24 kHz mono PCM: `OggOpusReader` for the
/// packets, `OpusDecoder` for the audio. Honours the OpusHead's pre-skip and output gain, trims
/// the padding the end-of-stream granule position marks, conceals a lost page with libopus'
/// packet-loss concealment, mixes stereo streams down to mono, and resets on a chained stream.
///
/// Packets libopus rejects are counted in `corruptPackets` and skipped. Not thread-safe.
package final class OggOpusDecoder {
    /// The output rate: Opus decodes natively at 24 kHz, the model's rate.
    package static let sampleRate = 24000
    /// The packet source; push bytes through `push`.
    package let reader: OggOpusReader
    /// Packets libopus rejected (skipped).
    package private(set) var corruptPackets = 0
    /// Packets concealed after a gap.
    package private(set) var concealedPackets = 0

    private var decoder: OpusDecoder?
    private var streamNumber = -1
    private var preSkipRemaining = 0        // samples at 24 kHz still to drop
    private var emitted: Int64 = 0           // samples at 24 kHz output in this stream
    private var gain: Float = 1
    private var preSkip48k: Int64 = 0
    private var scratch: [Float]             // one packet of interleaved PCM: 120 ms stereo at 24 kHz

    /// Whether the OpusHead's pre-skip is dropped at the start of each stream.
    package let dropsPreSkip: Bool

    /// - Parameter dropsPreSkip: true for files (the decoded audio then lines up with what was
    ///   encoded). A live server passes false: the pre-skip is then audio like the rest, and a
    ///   frame is complete as soon as its packets arrived. Kyutai's clients write a pre-skip of
    ///   3840 (80 ms): honouring it would hold every frame back until the next page, a whole
    ///   frame of added reply latency. Kyutai's servers do not honour it either.
    package init(maximumPacketSize: Int = 65536, dropsPreSkip: Bool = true) {
        self.dropsPreSkip = dropsPreSkip
        reader = OggOpusReader(maximumPacketSize: maximumPacketSize)
        scratch = [Float](repeating: 0, count: 2 * Self.sampleRate * 120 / 1000)
    }

    /// Appends bytes of the stream.
    package func push(_ bytes: UnsafeRawBufferPointer) { reader.push(bytes) }

    /// Appends bytes of the stream.
    package func push(_ bytes: [UInt8]) { reader.push(bytes) }

    /// Decodes every packet complete so far and appends the PCM (24 kHz mono, about -1...1)
    /// to `output`; returns the number of samples appended. Throws only for a stream we cannot
    /// decode at all (a multichannel mapping).
    @discardableResult
    package func decodeAvailable(appendingTo output: inout [Float]) throws(OggOpusError) -> Int {
        let before = output.count
        while let packet = reader.nextPacket() {
            try decode(packet, appendingTo: &output)
        }
        return output.count - before
    }

    /// Decodes the next complete packet, if any, and appends its PCM to `output`. Returns the
    /// samples appended (possibly 0: a header, a pre-skipped or corrupt packet), or nil when no
    /// complete packet is buffered. A live reader calls this packet by packet, so it never holds
    /// more decoded audio than it is ready to use.
    package func decodeNextPacket(appendingTo output: inout [Float]) throws(OggOpusError) -> Int? {
        guard let packet = reader.nextPacket() else { return nil }
        let before = output.count
        try decode(packet, appendingTo: &output)
        return output.count - before
    }

    private func decode(_ packet: OggOpusPacket, appendingTo output: inout [Float]) throws(OggOpusError) {
        if packet.streamNumber != streamNumber { try startStream(packet.streamNumber) }
        guard let decoder else { return }
        let channels = decoder.channelCount
        let frameCount: Int
        do {
            frameCount = try packet.data.withUnsafeBufferPointer { (data) throws(OpusError) -> Int in
                let duration = try OpusDecoder.sampleCount(ofPacket: data, atRate: Self.sampleRate)
                return try scratch.withUnsafeMutableBufferPointer { (pcm) throws(OpusError) -> Int in
                    if packet.followsGap, duration <= decoder.maximumFrameSize {
                        // One page per packet is the norm: conceal one packet's worth for the lost page.
                        let concealed = try decoder.decodeMissing(frameSize: duration, into: pcm)
                        concealedPackets += 1
                        emit(pcm, frames: concealed, channels: channels, endGranule: nil, to: &output)
                    }
                    return try decoder.decode(data, into: pcm)
                }
            }
        } catch {
            corruptPackets += 1
            return
        }
        scratch.withUnsafeMutableBufferPointer { pcm in
            emit(pcm, frames: frameCount, channels: channels, endGranule: packet.endOfStream ? packet.granulePosition : nil, to: &output)
        }
    }

    /// Drops pre-skip, applies gain, mixes down, trims at the end granule, and appends.
    private func emit(_ pcm: UnsafeMutableBufferPointer<Float>, frames: Int, channels: Int, endGranule: Int64?, to output: inout [Float]) {
        var first = 0
        if preSkipRemaining > 0 {
            first = min(frames, preSkipRemaining)
            preSkipRemaining -= first
        }
        var last = frames
        if let endGranule {
            let allowed = max(0, (endGranule - (dropsPreSkip ? preSkip48k : 0)) / 2) - emitted
            last = first + Int(max(0, min(Int64(last - first), allowed)))
        }
        guard last > first else { return }
        // No exact `reserveCapacity` here: `append` grows the array geometrically, so a stream
        // decoded packet after packet costs linear time (an exact reserve per packet made it quadratic).
        for frame in first..<last {
            var sum: Float = 0
            for channel in 0..<channels { sum += pcm[frame * channels + channel] }
            output.append(sum / Float(channels) * gain)
        }
        emitted += Int64(last - first)
    }

    private func startStream(_ number: Int) throws(OggOpusError) {
        streamNumber = number
        decoder = nil
        guard let head = reader.head else { return }
        guard head.mappingFamily == 0 else {
            throw .unsupportedChannelMapping(family: head.mappingFamily, channelCount: head.channelCount)
        }
        do { decoder = try OpusDecoder(sampleRate: Self.sampleRate, channelCount: head.channelCount) } catch {
            throw .unsupportedChannelMapping(family: head.mappingFamily, channelCount: head.channelCount)
        }
        preSkip48k = Int64(head.preSkip)
        preSkipRemaining = dropsPreSkip ? (head.preSkip + 1) / 2 : 0
        emitted = 0
        gain = head.outputGainFactor
    }
}
