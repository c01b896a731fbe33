import Testing
@testable import Server

@Suite struct FramedDecoderTests {
    static let stream: [UInt8] = FramedProtocol.preamble
        + FramedProtocol.encode(.handshake, text: "{\"seed\": 7}")
        + FramedProtocol.encode(.audio, payload: [0xF8, 0xFF, 0xFE])
        + FramedProtocol.encode(.ping, payload: [])

    @Test func parsesMessagesPushedOneByteAtATime() throws {
        var decoder = FramedDecoder()
        var messages: [FramedMessage] = []
        for byte in Self.stream {
            decoder.push([byte])
            while let m = try decoder.next() { messages.append(m) }
        }
        let kinds: [MessageKind] = messages.map(\.kind)
        #expect(kinds == [.handshake, .audio, .ping])
        #expect(messages[0].text == "{\"seed\": 7}")
        #expect(messages[1].payload == [0xF8, 0xFF, 0xFE])
        try decoder.finish()
    }

    @Test func headerIsKindThenBigEndianLength() {
        let bytes = FramedProtocol.encode(.text, text: "hi")
        #expect(bytes == [0x02, 0, 0, 0, 2, 0x68, 0x69])
    }

    @Test func refusesWrongMagicAtTheFirstDifferingByte() {
        var decoder = FramedDecoder()
        decoder.push(Array("MOX".utf8))
        #expect(throws: FramedProtocolError.badMagic(Array("MOX".utf8))) { try decoder.next() }
        // The decoder stays failed.
        decoder.push([1, 2, 3])
        #expect(throws: FramedProtocolError.badMagic(Array("MOX".utf8))) { try decoder.next() }
    }

    @Test func refusesOtherVersions() {
        var decoder = FramedDecoder()
        decoder.push(FramedProtocol.magic + [2])
        #expect(throws: FramedProtocolError.unsupportedVersion(2)) { try decoder.next() }
    }

    @Test func refusesUnknownKinds() {
        var decoder = FramedDecoder()
        decoder.push(FramedProtocol.preamble + [9])
        #expect(throws: FramedProtocolError.unknownKind(9)) { try decoder.next() }
    }

    @Test func refusesOversizedLengthBeforeThePayloadArrives() {
        var decoder = FramedDecoder(maximumPayload: 1000)
        decoder.push(FramedProtocol.preamble + [1, 0, 0, 3, 0xE9])
        #expect(throws: FramedProtocolError.messageTooLarge(length: 1001, limit: 1000)) { try decoder.next() }
    }

    @Test func reportsTruncationAtTheEnd() throws {
        var decoder = FramedDecoder()
        decoder.push(FramedProtocol.preamble + [1, 0, 0, 0, 10, 1, 2])
        let none = try decoder.next()
        #expect(none == nil)
        #expect(throws: FramedProtocolError.truncated(bytes: 7)) { try decoder.finish() }
    }

    @Test func sniffsTheProtocolFromTheFirstBytes() {
        #expect(ProtocolSniffer.classify(Array("MOSH".utf8)) == .framed)
        #expect(ProtocolSniffer.classify(Array("OggS".utf8)) == .ogg)
        #expect(ProtocolSniffer.classify(Array("GET ".utf8)) == .http)
        #expect(ProtocolSniffer.classify(Array("MO".utf8)) == nil)
        #expect(ProtocolSniffer.classify([0x16, 0x03]) == .tls)   // a TLS ClientHello
        #expect(ProtocolSniffer.classify([0x17, 0x03]) == .unknown)
        #expect(ProtocolSniffer.classify(Array("MOSX".utf8)) == .unknown)
    }
}

@Suite struct SessionOptionsTests {
    @Test func readsHandshakeJSON() throws {
        let options = try SessionOptions(json: Array(#"{"text_temperature": 0.5, "audio_topk": 100, "seed": 9}"#.utf8))
        #expect(options == SessionOptions(textTemperature: 0.5, audioTopK: 100, seed: 9))
        #expect(try SessionOptions(json: []) == SessionOptions())
    }

    @Test func refusesBadJSONAndRanges() {
        #expect(throws: SessionOptionsError.self) { try SessionOptions(json: Array("{".utf8)) }
        #expect(throws: SessionOptionsError("text_temperature must be between 0 and 10, got 50.0")) {
            try SessionOptions(json: Array(#"{"text_temperature": 50}"#.utf8))
        }
    }

    @Test func readsKyutaiQueryParameters() throws {
        let query = WebSocketChat.query(of: "/api/chat?text_temperature=0.6&audio_topk=20&audio_seed=3&email=x")
        let options = try SessionOptions(query: query)
        #expect(options == SessionOptions(textTemperature: 0.6, audioTopK: 20, seed: 3))
        #expect(throws: SessionOptionsError.self) { try SessionOptions(query: ["text_topk": "many"]) }
    }
}
