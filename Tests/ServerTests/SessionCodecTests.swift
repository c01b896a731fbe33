import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing
@testable import Server

/// Each protocol's encoder turns `SessionOutput` into its bytes, and the framed decoder turns
/// bytes, however they are split, into `SessionEvent`s (the `SessionHandler` is not involved).
@Suite struct SessionCodecTests {
    static func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

    static func bytes(_ buffer: ByteBuffer?) -> [UInt8] { buffer.map { Array($0.readableBytesView) } ?? [] }

    @Test func framedEncoderSendsThePreambleOnceThenKindLengthPayload() throws {
        let statistics = ServerStatistics()
        let channel = EmbeddedChannel(handler: FramedSessionEncoder(statistics: statistics))
        try channel.writeOutbound(SessionOutput.ready(model: "echo"))
        let handshake = Self.bytes(try channel.readOutbound(as: ByteBuffer.self))
        let json = Array(#"{"frame_ms":80,"model":"echo","sample_rate":24000,"version":1}"#.utf8)
        #expect(handshake == FramedProtocol.preamble + [0, 0, 0, 0, UInt8(json.count)] + json)

        try channel.writeOutbound(SessionOutput.audio(Self.buffer([0xF8, 0xFF, 0xFE])))
        #expect(Self.bytes(try channel.readOutbound(as: ByteBuffer.self)) == [1, 0, 0, 0, 3, 0xF8, 0xFF, 0xFE])
        try channel.writeOutbound(SessionOutput.text("hi"))
        #expect(Self.bytes(try channel.readOutbound(as: ByteBuffer.self)) == [2, 0, 0, 0, 2, 0x68, 0x69])
        try channel.writeOutbound(SessionOutput.pong([7]))
        #expect(Self.bytes(try channel.readOutbound(as: ByteBuffer.self)) == [6, 0, 0, 0, 1, 7])
        try channel.writeOutbound(SessionOutput.failure(reason: "no", protocolError: true))
        #expect(Self.bytes(try channel.readOutbound(as: ByteBuffer.self)) == [5, 0, 0, 0, 2, 0x6E, 0x6F])
        try channel.writeOutbound(SessionOutput.end)
        #expect(Self.bytes(try channel.readOutbound(as: ByteBuffer.self)) == [3, 0, 0, 0, 1, 1])
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(statistics.snapshot.bytesOut == handshake.count + 8 + 7 + 6 + 7 + 6)
        _ = try channel.finish()
    }

    @Test func webSocketEncoderSendsKindBytesInBinaryFramesAndClosesWithACode() throws {
        let channel = EmbeddedChannel(handler: WebSocketSessionEncoder(statistics: ServerStatistics()))
        func next() throws -> WebSocketFrame { try #require(try channel.readOutbound(as: WebSocketFrame.self)) }

        try channel.writeOutbound(SessionOutput.ready(model: "echo"))
        var frame = try next()
        #expect(frame.opcode == .binary && frame.fin && Self.bytes(frame.data) == [0, 0, 0, 0, 0, 0, 0, 0, 0])
        try channel.writeOutbound(SessionOutput.audio(Self.buffer([0x4F, 0x67])))
        frame = try next()
        #expect(frame.opcode == .binary && Self.bytes(frame.data) == [1, 0x4F, 0x67])
        try channel.writeOutbound(SessionOutput.text("ok"))
        #expect(Self.bytes(try next().data) == [2, 0x6F, 0x6B])

        try channel.writeOutbound(SessionOutput.end)
        frame = try next()
        var code = frame.data
        #expect(frame.opcode == .connectionClose && code.readWebSocketErrorCode() == .normalClosure)

        // A failure: the error message, then a Close saying whose fault it was.
        try channel.writeOutbound(SessionOutput.failure(reason: "busy", protocolError: false))
        frame = try next()
        #expect(frame.opcode == .binary && Self.bytes(frame.data) == [5] + Array("busy".utf8))
        frame = try next()
        code = frame.data
        #expect(frame.opcode == .connectionClose && code.readWebSocketErrorCode() == .unexpectedServerError)
        try channel.writeOutbound(SessionOutput.failure(reason: "bad", protocolError: true))
        _ = try next()
        code = try next().data
        #expect(code.readWebSocketErrorCode() == .protocolError)
        #expect(try channel.readOutbound(as: WebSocketFrame.self) == nil)
        _ = try channel.finish()
    }

    @Test func oggEncoderPassesAudioAndWritesNothingElse() throws {
        let statistics = ServerStatistics()
        let channel = EmbeddedChannel(handler: OggSessionEncoder(statistics: statistics))
        let page: [UInt8] = Array("OggS".utf8) + [0, 2, 9, 9]
        try channel.writeOutbound(SessionOutput.audio(Self.buffer(page)))
        #expect(Self.bytes(try channel.readOutbound(as: ByteBuffer.self)) == page)
        for output in [SessionOutput.ready(model: "echo"), .text("hi"), .metadata([1]), .pong([]), .failure(reason: "no", protocolError: true), .end] {
            channel.writeAndFlush(output, promise: nil)
        }
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        // The last output's promise (the close waits for it) completes after an empty write.
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(SessionOutput.failure(reason: "no", protocolError: true), promise: promise)
        try promise.futureResult.wait()
        #expect(Self.bytes(try channel.readOutbound(as: ByteBuffer.self)).isEmpty)
        #expect(statistics.snapshot.bytesOut == page.count)
        _ = try channel.finish()
    }

    /// A handshake with a token, audio, a ping, then a message cut off by the end of the input,
    /// arriving in pieces that split the preamble, headers and payloads.
    @Test(arguments: [[1, 3, 7, 2], [5], [4, 1, 9, 13, 6], [1000]])
    func framedDecoderGivesEventsWhereverTheStreamIsSplit(pieces: [Int]) throws {
        let statistics = ServerStatistics()
        let channel = EmbeddedChannel(handler: FramedSessionDecoder(maximumPayload: 1000, statistics: statistics))
        let stream = FramedProtocol.preamble
            + FramedProtocol.encode(.handshake, text: #"{"token": "t", "seed": 7}"#)
            + FramedProtocol.encode(.audio, payload: [0xF8, 0xFF, 0xFE])
            + FramedProtocol.encode(.text, text: "ignored")
            + FramedProtocol.encode(.ping, payload: [4, 2])
            + FramedProtocol.encode(.audio, payload: [1])
            + [1, 0, 0]
        var offset = 0
        var piece = 0
        while offset < stream.count {
            let length = min(pieces[piece % pieces.count], stream.count - offset)
            try channel.writeInbound(Self.buffer(Array(stream[offset..<(offset + length)])))
            offset += length
            piece += 1
        }
        var events: [SessionEvent] = []
        while let event = try channel.readInbound(as: SessionEvent.self) { events.append(event) }
        try #require(events.count == 4)
        guard case .open(let request) = events[0] else { Issue.record("\(events[0])"); return }
        #expect(request.credential == .presented("t", hint: FramedSessionDecoder.tokenHint))
        #expect(request.options.seed == 7)
        guard case .audio(let audio) = events[1], case .ping(let ping) = events[2], case .audio(let last) = events[3] else {
            Issue.record("\(events)")
            return
        }
        #expect(audio == [0xF8, 0xFF, 0xFE] && ping == [4, 2] && last == [1])
        #expect(statistics.snapshot.bytesIn == stream.count)

        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        guard case .malformed(let reason) = try channel.readInbound(as: SessionEvent.self) else { Issue.record("no malformed"); return }
        #expect(reason == FramedProtocolError.truncated(bytes: 3).description)
        _ = try channel.finish()
    }

    @Test func aSecondFramedHandshakeIsMalformed() throws {
        let channel = EmbeddedChannel(handler: FramedSessionDecoder(maximumPayload: 1000, statistics: ServerStatistics()))
        try channel.writeInbound(Self.buffer(FramedProtocol.preamble + FramedProtocol.encode(.handshake, payload: [])
                                             + FramedProtocol.encode(.handshake, payload: []) + FramedProtocol.encode(.audio, payload: [1])))
        guard case .open = try channel.readInbound(as: SessionEvent.self) else { Issue.record("no open"); return }
        guard case .malformed("a second handshake") = try channel.readInbound(as: SessionEvent.self) else { Issue.record("no malformed"); return }
        // Nothing after a protocol error.
        #expect(try channel.readInbound(as: SessionEvent.self) == nil)
        _ = try channel.finish()
    }
}
