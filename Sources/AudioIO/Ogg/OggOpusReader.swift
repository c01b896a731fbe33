import COgg

/// Reads an Ogg Opus stream incrementally: push bytes as they arrive, pull audio packets.
///
/// Page framing, capture-pattern search and the CRC check are libogg's (`ogg_sync_buffer`,
/// `ogg_sync_wrote`, `ogg_sync_pageseek`): bytes that are not a valid page are skipped and the
/// reader resynchronises on the next `OggS`. Packet assembly is ours, so that packet sizes are
/// bounded: a packet longer than `maximumPacketSize` is dropped, never buffered. The first
/// logical stream whose beginning-of-stream page holds an OpusHead is followed (other
/// multiplexed streams are ignored); after its end-of-stream page, the next Opus stream of a
/// chain is picked up. OpusHead and OpusTags are consumed here; only audio packets come out.
///
/// Memory is what the caller pushed and has not pulled yet, plus at most one page (65,307
/// bytes). Any byte sequence is accepted. Not thread-safe.
package final class OggOpusReader {
    /// Packets longer than this many bytes are dropped (an Opus packet is at most 61,440 + 7).
    package let maximumPacketSize: Int
    /// The identification header of the current stream, once seen.
    package private(set) var head: OpusHead?
    /// Counters for what was skipped, for logs and tests.
    package private(set) var statistics = Statistics()

    /// What the reader skipped so far.
    package struct Statistics: Sendable, Equatable {
        /// Complete, CRC-valid pages read.
        package var pages = 0
        /// Bytes skipped while searching for a valid page (junk, CRC failures).
        package var skippedBytes = 0
        /// Page sequence gaps in the followed stream.
        package var sequenceGaps = 0
        /// Packets dropped: over the size limit, truncated by a gap, or unterminated.
        package var droppedPackets = 0
    }

    private let sync: UnsafeMutablePointer<ogg_sync_state>
    private var serialNumber: UInt32?
    private var streamNumber = -1
    private var expectedPageNumber: UInt32 = 0
    private var packetIndex = 0             // packets completed in the current stream (0 = OpusHead)
    private var partial: [UInt8] = []       // bytes of a packet continued on the next page
    private var partialIsValid = false      // whether `partial` holds the start of a packet we keep
    private var gapPending = false
    private var ready: [OggOpusPacket] = []  // packets of the last page not handed out yet
    /// Byte buffers of packets already handed out, reused for the next packets: a live stream
    /// then reads packet after packet without allocating.
    private var spares: [[UInt8]] = []
    private var readyIndex = 0

    /// Wraps `ogg_sync_init`.
    package init(maximumPacketSize: Int = 65536) {
        self.maximumPacketSize = maximumPacketSize
        sync = .allocate(capacity: 1)
        ogg_sync_init(sync)
    }

    deinit {
        ogg_sync_clear(sync)
        sync.deallocate()
    }

    /// Appends bytes of the stream (`ogg_sync_buffer` + `ogg_sync_wrote`).
    package func push(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0, let source = bytes.baseAddress else { return }
        guard let destination = ogg_sync_buffer(sync, bytes.count) else {
            statistics.skippedBytes += bytes.count  // libogg could not grow its buffer
            return
        }
        destination.withMemoryRebound(to: UInt8.self, capacity: bytes.count) { $0.update(from: source.assumingMemoryBound(to: UInt8.self), count: bytes.count) }
        ogg_sync_wrote(sync, bytes.count)
    }

    /// Appends bytes of the stream.
    package func push(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { push($0) }
    }

    /// The next complete audio packet, or nil when more bytes are needed.
    package func nextPacket() -> OggOpusPacket? {
        while readyIndex == ready.count {
            // The packets handed out are done with (a caller that still holds one keeps its bytes:
            // the buffer is then copied on reuse instead of overwritten).
            for packet in ready where spares.count < 8 { spares.append(packet.data) }
            ready.removeAll(keepingCapacity: true)
            readyIndex = 0
            var page = ogg_page()
            let result = ogg_sync_pageseek(sync, &page)
            if result == 0 { return nil }
            if result < 0 {
                statistics.skippedBytes += -result
                continue
            }
            statistics.pages += 1
            consume(header: UnsafeRawBufferPointer(start: page.header, count: page.header_len),
                    body: UnsafeRawBufferPointer(start: page.body, count: page.body_len))
        }
        defer { readyIndex += 1 }
        return ready[readyIndex]
    }

    /// Splits one CRC-checked page into packets with its lacing values (RFC 3533 §6).
    private func consume(header: UnsafeRawBufferPointer, body: UnsafeRawBufferPointer) {
        guard header.count >= 27, header[4] == 0 else { return }  // stream structure version 0 only
        let flags = header[5]
        let continued = flags & 0x01 != 0, beginning = flags & 0x02 != 0, ending = flags & 0x04 != 0
        let granule = Int64(bitPattern: header.loadLittleEndianUInt64(at: 6))
        let serial = header.loadLittleEndianUInt32(at: 14)
        let pageNumber = header.loadLittleEndianUInt32(at: 18)
        let segmentCount = Int(header[26])
        guard header.count >= 27 + segmentCount else { return }
        let lacing = UnsafeRawBufferPointer(rebasing: header[27..<(27 + segmentCount)])

        if serialNumber == nil {
            guard beginning, !continued, let first = firstPacket(lacing: lacing, body: body),
                  let head = OpusHead(packet: first) else { return }
            self.head = head
            serialNumber = serial
            streamNumber += 1
            expectedPageNumber = pageNumber &+ 1
            packetIndex = 1
            partial.removeAll(keepingCapacity: true)
            partialIsValid = false
            gapPending = false
            return
        }
        guard serial == serialNumber else { return }
        if pageNumber != expectedPageNumber {
            statistics.sequenceGaps += 1
            gapPending = true
            if partialIsValid { statistics.droppedPackets += 1 }
            partial.removeAll(keepingCapacity: true)
            partialIsValid = false
        }
        expectedPageNumber = pageNumber &+ 1

        var keeping: Bool
        if continued {
            keeping = partialIsValid  // a continuation of nothing we hold is skipped
        } else {
            if partialIsValid { statistics.droppedPackets += 1; gapPending = true }  // unterminated packet
            partial.removeAll(keepingCapacity: true)
            keeping = true
        }
        var offset = 0
        var lastCompleted = -1
        for segment in 0..<segmentCount {
            let length = Int(lacing[segment])
            if keeping {
                if partial.count + length > maximumPacketSize {
                    statistics.droppedPackets += 1
                    gapPending = true
                    partial.removeAll(keepingCapacity: true)
                    keeping = false
                } else {
                    partial.append(contentsOf: body[offset..<(offset + length)])
                }
            }
            offset += length
            if length < 255 {
                lastCompleted = keeping && complete() ? ready.count - 1 : -1
                partial.removeAll(keepingCapacity: true)
                keeping = true
            }
        }
        if segmentCount > 0 { partialIsValid = keeping && lacing[segmentCount - 1] == 255 }
        if lastCompleted >= 0 {
            if granule != -1 { ready[lastCompleted].granulePosition = granule }
            ready[lastCompleted].endOfStream = ending
        }
        if ending {
            // The stream is over; a chained stream may start with a new beginning-of-stream page.
            serialNumber = nil
            partial.removeAll(keepingCapacity: true)
            partialIsValid = false
        }
    }

    /// Hands out a completed packet unless it is a header; returns whether it was handed out.
    private func complete() -> Bool {
        defer { packetIndex += 1 }
        if packetIndex == 1 {
            // The second packet is OpusTags; a stream that lost it goes on with audio.
            let isTags = partial.withUnsafeBytes { OpusTags.isTags($0) }
            if isTags { return false }
        }
        guard !partial.isEmpty else { return false }  // a zero-length packet carries no audio
        // The packet takes the bytes' buffer; `partial` goes on in a spare one (no allocation,
        // where copying `partial` and then emptying it would make it allocate a new buffer).
        var data = spares.popLast() ?? []
        data.removeAll(keepingCapacity: true)
        swap(&data, &partial)
        ready.append(OggOpusPacket(data: data, granulePosition: nil, endOfStream: false, followsGap: gapPending, streamNumber: streamNumber))
        gapPending = false
        return true
    }

    /// The first packet of a page when it is complete on that page.
    private func firstPacket(lacing: UnsafeRawBufferPointer, body: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var length = 0
        for value in lacing {
            length += Int(value)
            if value < 255 { return length <= body.count ? UnsafeRawBufferPointer(rebasing: body[0..<length]) : nil }
        }
        return nil
    }
}
