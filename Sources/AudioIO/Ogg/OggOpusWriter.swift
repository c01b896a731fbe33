import COgg

/// Writes an Ogg Opus stream (RFC 7845) with libogg (`ogg_stream_packetin`, `ogg_stream_flush`):
/// OpusHead alone on the first page (beginning of stream, granule 0), OpusTags on its own
/// page(s), then one page per audio packet, flushed at once for low latency, with granule
/// positions counted at 48 kHz, and an end-of-stream page at the end.
///
/// Pages are appended to a caller-owned byte array; reuse it (`removeAll(keepingCapacity:)`)
/// and a stream of packets allocates nothing per packet. Not thread-safe.
package final class OggOpusWriter {
    private let stream: UnsafeMutablePointer<ogg_stream_state>
    /// The identification header this stream starts with.
    package let head: OpusHead
    /// The comment header written second.
    package let tags: OpusTags
    /// The Ogg logical stream serial number.
    package let serialNumber: UInt32
    /// Decoded samples at 48 kHz through the last packet written, pre-skip included: the
    /// granule position of the last audio page.
    package private(set) var granulePosition: Int64 = 0
    /// Whether the headers have been written.
    package private(set) var wroteHeaders = false
    /// Whether the end-of-stream page has been written; nothing may follow it.
    package private(set) var isFinished = false
    private var packetNumber: Int64 = 0

    /// Wraps `ogg_stream_init`. `head.preSkip` should be the encoder's lookahead at 48 kHz
    /// (`OpusEncoder.preSkip48k`).
    package init(head: OpusHead, tags: OpusTags = OpusTags(), serialNumber: UInt32 = UInt32.random(in: 1...UInt32.max)) throws(OggOpusError) {
        self.head = head
        self.tags = tags
        self.serialNumber = serialNumber
        stream = .allocate(capacity: 1)
        guard ogg_stream_init(stream, Int32(bitPattern: serialNumber)) == 0 else {
            stream.deallocate()
            throw .libogg(call: "ogg_stream_init")
        }
    }

    deinit {
        ogg_stream_clear(stream)
        stream.deallocate()
    }

    /// Appends the OpusHead page and the OpusTags page(s). Called by the first `write` if the
    /// caller did not.
    package func writeHeaders(to output: inout [UInt8]) throws(OggOpusError) {
        guard !wroteHeaders else { return }
        wroteHeaders = true
        try submit(head.packet, beginningOfStream: true, granule: 0, to: &output)
        try submit(tags.packet, granule: 0, to: &output)
    }

    /// Appends one audio packet on its own page (`ogg_stream_packetin` then `ogg_stream_flush`).
    /// Its duration is read from the packet's TOC byte. For the last packet of a file, pass
    /// `endOfStream` and the number of 48 kHz samples at its end that are only padding, so
    /// that players trim them (the final granule position is reduced by that much).
    package func write(packet: UnsafeBufferPointer<UInt8>, endOfStream: Bool = false, trailingPadding48k: Int = 0, to output: inout [UInt8]) throws(OggOpusError) {
        guard !isFinished else { throw .writeAfterEndOfStream }
        try writeHeaders(to: &output)
        let duration: Int
        do { duration = try OpusDecoder.sampleCount(ofPacket: packet, atRate: OpusSampleRate.granuleRate) } catch { throw .invalidPacket(error) }
        granulePosition += Int64(duration)
        let granule = endOfStream ? max(Int64(head.preSkip), granulePosition - Int64(max(0, trailingPadding48k))) : granulePosition
        try submit(packet, endOfStream: endOfStream, granule: granule, to: &output)
        if endOfStream { isFinished = true }
    }

    /// Ends the stream: appends an end-of-stream page with no packets (its CRC set by
    /// `ogg_page_checksum_set`) unless the last packet was written with `endOfStream`.
    package func finish(to output: inout [UInt8]) throws(OggOpusError) {
        guard !isFinished else { return }
        try writeHeaders(to: &output)
        isFinished = true
        var header = [UInt8](repeating: 0, count: 27)
        header.replaceSubrange(0..<4, with: Array("OggS".utf8))
        header[5] = 0x04  // end of stream
        for i in 0..<8 { header[6 + i] = UInt8(truncatingIfNeeded: UInt64(bitPattern: granulePosition) >> UInt64(8 * i)) }
        for i in 0..<4 { header[14 + i] = UInt8(truncatingIfNeeded: serialNumber >> UInt32(8 * i)) }
        let pageNumber = UInt32(truncatingIfNeeded: stream.pointee.pageno)
        for i in 0..<4 { header[18 + i] = UInt8(truncatingIfNeeded: pageNumber >> UInt32(8 * i)) }
        header.withUnsafeMutableBufferPointer { bytes in
            var page = ogg_page(header: bytes.baseAddress, header_len: 27, body: bytes.baseAddress, body_len: 0)
            ogg_page_checksum_set(&page)
        }
        output += header
    }

    private func submit(_ bytes: [UInt8], beginningOfStream: Bool = false, granule: Int64, to output: inout [UInt8]) throws(OggOpusError) {
        try bytes.withUnsafeBufferPointer { (buffer) throws(OggOpusError) in
            try submit(buffer, beginningOfStream: beginningOfStream, granule: granule, to: &output)
        }
    }

    private func submit(_ bytes: UnsafeBufferPointer<UInt8>, beginningOfStream: Bool = false, endOfStream: Bool = false, granule: Int64, to output: inout [UInt8]) throws(OggOpusError) {
        var packet = ogg_packet(
            packet: UnsafeMutablePointer(mutating: bytes.baseAddress), bytes: bytes.count,
            b_o_s: beginningOfStream ? 1 : 0, e_o_s: endOfStream ? 1 : 0,
            granulepos: granule, packetno: packetNumber)
        packetNumber += 1
        guard ogg_stream_packetin(stream, &packet) == 0 else { throw .libogg(call: "ogg_stream_packetin") }
        var page = ogg_page()
        while ogg_stream_flush(stream, &page) != 0 {
            output.append(contentsOf: UnsafeBufferPointer(start: page.header, count: page.header_len))
            output.append(contentsOf: UnsafeBufferPointer(start: page.body, count: page.body_len))
        }
    }
}
