import Testing
@testable import AudioIO

@Suite struct OggOpusTests {
    /// `count` 20 ms packets of a speech-like signal, and the signal.
    static func packets(_ count: Int, frameSize: Int = 480) throws -> (packets: [[UInt8]], signal: [Float]) {
        let signal = TestSignal.speechLike(sampleRate: 24000, seconds: Double(count * frameSize) / 24000, seed: 3)
        let encoder = try OpusEncoder()
        var packets: [[UInt8]] = []
        for f in 0..<count { packets.append(try encoder.encode(Array(signal[(f * frameSize)..<((f + 1) * frameSize)]))) }
        return (packets, signal)
    }

    static func stream(_ packets: [[UInt8]], serial: UInt32 = 0x1234_5678, lastIsEnd: Bool = true, padding: Int = 0) throws -> [UInt8] {
        let writer = try OggOpusWriter(head: OpusHead(preSkip: 312), serialNumber: serial)
        var bytes: [UInt8] = []
        for (i, packet) in packets.enumerated() {
            let last = lastIsEnd && i == packets.count - 1
            try packet.withUnsafeBufferPointer { try writer.write(packet: $0, endOfStream: last, trailingPadding48k: last ? padding : 0, to: &bytes) }
        }
        if !lastIsEnd { try writer.finish(to: &bytes) }
        return bytes
    }

    static func readAll(_ reader: OggOpusReader) -> [OggOpusPacket] {
        var packets: [OggOpusPacket] = []
        while let packet = reader.nextPacket() { packets.append(packet) }
        return packets
    }

    @Test func writerLaysOutPagesAsRFC7845Asks() throws {
        let (packets, _) = try Self.packets(5)
        let bytes = try Self.stream(packets, padding: 100)
        let pages = try #require(OggTestPage.parse(bytes))
        #expect(pages.count == 7)
        #expect(pages.allSatisfy { $0.crcMatches && $0.serial == 0x1234_5678 })
        #expect(pages.map(\.sequence) == Array(0..<7))
        // Page 0: OpusHead alone, beginning of stream, granule 0.
        #expect(pages[0].isBeginning && pages[0].granule == 0 && pages[0].lacing == [19])
        #expect(pages[0].body == [0x4F, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64,  // "OpusHead"
                                  1, 1, 0x38, 0x01,                                // version 1, mono, pre-skip 312
                                  0xC0, 0x5D, 0x00, 0x00,                          // input rate 24000
                                  0, 0, 0])                                        // gain 0, mapping 0
        // Page 1: OpusTags with vendor "SwiftMoshi", alone on its page.
        #expect(!pages[1].isBeginning && pages[1].granule == 0 && pages[1].completedPackets == 1)
        #expect(Array(pages[1].body.prefix(8)) == Array("OpusTags".utf8))
        #expect(Array(pages[1].body[12..<22]) == Array("SwiftMoshi".utf8))
        // One page per 20 ms packet, granule counted at 48 kHz; the last page ends the stream
        // and trims the padding.
        for i in 0..<5 {
            #expect(pages[2 + i].body == packets[i] && pages[2 + i].completedPackets == 1)
            #expect(pages[2 + i].isEnd == (i == 4))
        }
        #expect(pages[2...5].map(\.granule) == [960, 1920, 2880, 3840])
        #expect(pages[6].granule == 4800 - 100)
    }

    @Test func finishWritesAnEmptyEndOfStreamPageWithAValidCRC() throws {
        let (packets, _) = try Self.packets(3)
        let bytes = try Self.stream(packets, lastIsEnd: false)
        let pages = try #require(OggTestPage.parse(bytes))
        let last = try #require(pages.last)
        #expect(pages.count == 6 && last.isEnd && last.lacing.isEmpty && last.crcMatches && last.sequence == 5)
        #expect(last.granule == 2880)
        // The reader sees the same packets and libogg accepts the page.
        let reader = OggOpusReader()
        reader.push(bytes)
        #expect(Self.readAll(reader).map(\.data) == packets)
        #expect(reader.statistics.skippedBytes == 0 && reader.statistics.pages == 6)
        // Nothing may follow the end.
        var more: [UInt8] = []
        let writer = try OggOpusWriter(head: OpusHead(preSkip: 312))
        try writer.finish(to: &more)
        #expect(throws: OggOpusError.writeAfterEndOfStream) { try packets[0].withUnsafeBufferPointer { try writer.write(packet: $0, to: &more) } }
    }

    @Test func readerReturnsEveryPacketWhetherPushedAtOnceOrByteByByte() throws {
        let (packets, _) = try Self.packets(12)
        let bytes = try Self.stream(packets)
        let whole = OggOpusReader()
        whole.push(bytes)
        let read = Self.readAll(whole)
        #expect(read.map(\.data) == packets)
        #expect(whole.head == OpusHead(preSkip: 312))
        #expect(read.last?.endOfStream == true && read.dropLast().allSatisfy { !$0.endOfStream && !$0.followsGap })
        #expect(read.map(\.granulePosition) == (1...12).map { Int64($0 * 960) })

        let trickle = OggOpusReader()
        var trickled: [OggOpusPacket] = []
        for byte in bytes {
            trickle.push([byte])
            while let packet = trickle.nextPacket() { trickled.append(packet) }
        }
        #expect(trickled == read)
    }

    @Test func aCorruptedPageFailsItsCRCIsSkippedAndTheGapIsFlagged() throws {
        let (packets, _) = try Self.packets(8)
        var bytes = try Self.stream(packets)
        let pages = try #require(OggTestPage.parse(bytes))
        bytes[pages[4].byteRange.lowerBound + 40] ^= 0x5A  // inside audio packet 2's body
        let reader = OggOpusReader()
        reader.push(bytes)
        let read = Self.readAll(reader)
        #expect(read.map(\.data) == packets.enumerated().filter { $0.offset != 2 }.map(\.element))
        #expect(read.map(\.followsGap) == [false, false, true, false, false, false, false])
        #expect(reader.statistics.sequenceGaps == 1 && reader.statistics.skippedBytes > 0)
    }

    @Test func readerResynchronisesAfterJunkAndIgnoresOtherStreams() throws {
        let (packets, _) = try Self.packets(6)
        let bytes = try Self.stream(packets)
        let pages = try #require(OggTestPage.parse(bytes))
        var random = TestRandom(seed: 11)
        // Junk before the stream and between pages (including a fake capture pattern), and a
        // non-Opus stream's page interleaved.
        var mixed = random.bytes(1000) + Array("OggSjunk".utf8)
        let other = try Self.stream([packets[0]], serial: 99)
        let otherPages = try #require(OggTestPage.parse(other))
        for (i, page) in pages.enumerated() {
            mixed += bytes[page.byteRange]
            if i == 3 { mixed += random.bytes(333) + Array(other[otherPages[2].byteRange]) }
        }
        let reader = OggOpusReader()
        reader.push(mixed)
        #expect(Self.readAll(reader).map(\.data) == packets)
        #expect(reader.statistics.skippedBytes >= 1333)
    }

    @Test func packetsOverTheSizeLimitAreDroppedNotBuffered() throws {
        // A 70,000-byte "packet" spans two pages; with a 1,000-byte limit it is dropped and the
        // small packets around it survive.
        let small: [UInt8] = [0x08, 1, 2, 3]  // a TOC byte for a 10 ms SILK frame, then data
        let writer = try OggOpusWriter(head: OpusHead(preSkip: 312), serialNumber: 5)
        var bytes: [UInt8] = []
        try writer.writeHeaders(to: &bytes)
        for packet in [small, [UInt8](repeating: 0x08, count: 70000), small] {
            try packet.withUnsafeBufferPointer { try writer.write(packet: $0, to: &bytes) }
        }
        let reader = OggOpusReader(maximumPacketSize: 1000)
        reader.push(bytes)
        let read = Self.readAll(reader)
        #expect(read.map(\.data) == [small, small])
        #expect(read[1].followsGap)
        #expect(reader.statistics.droppedPackets == 1)
    }

    @Test func randomBytesYieldNothingAndNoCrash() {
        var random = TestRandom(seed: 5)
        let reader = OggOpusReader()
        for _ in 0..<50 {
            reader.push(random.bytes(4096))
            #expect(reader.nextPacket() == nil)
        }
        #expect(reader.head == nil)
        #expect(reader.statistics.skippedBytes > 190_000)
    }

    @Test func decoderHonoursPreSkipAndEndTrimSoLengthIsExact() throws {
        let signal = TestSignal.speechLike(sampleRate: 24000, seconds: 1.013, seed: 9)
        let bytes = try AudioFile.encodeOggOpus(signal, bitrate: 32000, frameDuration: .ms20)
        let decoded = try AudioFile.decodeOggOpus(bytes)
        #expect(decoded.count == signal.count)
        let best = Measure.bestCorrelation(decoded, signal, lags: -20...20)
        #expect(abs(best.lag) <= 3, "\(best)")  // the lookahead is removed exactly; VOIP pre-filtering shifts the phase slightly
        #expect(best.correlation > 0.9, "\(best)")
    }

    @Test func decoderConcealsALostPage() throws {
        let signal = TestSignal.sine(frequency: 220, sampleRate: 24000, count: 24000)
        let bytes = try AudioFile.encodeOggOpus(signal, frameDuration: .ms20)
        let pages = try #require(OggTestPage.parse(bytes))
        let damaged = Array(bytes[..<pages[10].byteRange.lowerBound] + bytes[pages[10].byteRange.upperBound...])
        let decoder = OggOpusDecoder()
        decoder.push(damaged)
        var decoded: [Float] = []
        try decoder.decodeAvailable(appendingTo: &decoded)
        #expect(decoder.concealedPackets == 1)
        #expect(decoded.count == signal.count)  // the lost 20 ms was concealed, not dropped
    }

    @Test func chainedStreamsDecodeOneAfterTheOther() throws {
        let first = TestSignal.sine(frequency: 300, sampleRate: 24000, count: 4800)
        let second = TestSignal.sine(frequency: 500, sampleRate: 24000, count: 7200)
        let bytes = try AudioFile.encodeOggOpus(first) + AudioFile.encodeOggOpus(second)
        let decoded = try AudioFile.decodeOggOpus(bytes)
        #expect(decoded.count == first.count + second.count)
        #expect(abs(Measure.zeroCrossingFrequency(decoded[6000..<12000], sampleRate: 24000) - 500) < 10)
    }

    @Test func nonOpusOggIsAClearError() throws {
        #expect(throws: OggOpusError.noOpusStream) { _ = try AudioFile.decodeOggOpus(Array("OggS not really".utf8)) }
        // A Vorbis-like stream: valid Ogg pages whose first packet is not OpusHead.
        let writer = try OggOpusWriter(head: OpusHead(preSkip: 0))
        var bytes: [UInt8] = []
        try writer.writeHeaders(to: &bytes)
        let pages = try #require(OggTestPage.parse(bytes))
        #expect(pages.count == 2)
        var vorbis = bytes
        vorbis[pages[0].byteRange.lowerBound + 27 + 1] = UInt8(ascii: "V")  // "OVusHead", CRC now wrong too
        #expect(throws: OggOpusError.noOpusStream) { _ = try AudioFile.decodeOggOpus(vorbis) }
    }

    /// Decoding a long stream into one array grows it geometrically (a few reallocations), not
    /// by exactly one packet each time (which made decoding quadratic in the stream's length).
    @Test func decodedOutputGrowsGeometrically() throws {
        let (packets, _) = try Self.packets(400)
        let decoder = OggOpusDecoder()
        decoder.push(try Self.stream(packets))
        var output: [Float] = []
        var capacity = output.capacity
        var reallocations = 0
        while let _ = try decoder.decodeNextPacket(appendingTo: &output) {
            if output.capacity != capacity { reallocations += 1; capacity = output.capacity }
        }
        #expect(output.count > 399 * 480 - 200)
        #expect(reallocations < 30)
    }

    /// A live reader keeps the pre-skip as audio: the first packet's samples all come out.
    @Test func preSkipCanBeKeptAsAudio() throws {
        let (packets, _) = try Self.packets(3)
        let bytes = try Self.stream(packets, lastIsEnd: false)
        let files = OggOpusDecoder()
        files.push(bytes)
        var dropped: [Float] = []
        try files.decodeAvailable(appendingTo: &dropped)
        let live = OggOpusDecoder(dropsPreSkip: false)
        live.push(bytes)
        var kept: [Float] = []
        #expect(try live.decodeNextPacket(appendingTo: &kept) == 480)  // one packet, whole
        try live.decodeAvailable(appendingTo: &kept)
        #expect(kept.count == 3 * 480)
        #expect(dropped.count == 3 * 480 - 156)
    }
}
