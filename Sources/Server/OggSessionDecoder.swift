import AudioIO
import NIOCore

private enum OpusTagsMagic { static let bytes = OpusTags.magic }

/// The input of a connection whose first bytes were `OggS` (a bare Ogg Opus stream; the reply
/// is one too, `OggSessionEncoder`), as session events: the session opens at once, or, when
/// the server requires a token, once the stream's OpusTags show its `MOSHI_TOKEN` comment (the
/// bytes up to there are held, then sent on as the first audio); every read after that is audio.
final class OggSessionDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = SessionEvent

    /// Where a plain Ogg stream carries the token, for a refusal.
    static let tokenHint = "a MOSHI_TOKEN comment in the OpusTags"

    private let requiresToken: Bool
    private let statistics: ServerStatistics
    private var opened = false
    /// The stream's first bytes while the token is looked for.
    private var held: [UInt8] = []

    init(requiresToken: Bool, statistics: ServerStatistics) {
        self.requiresToken = requiresToken
        self.statistics = statistics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // With a token required, the session opens once the stream's OpusTags carry it.
        if !requiresToken { open(token: nil, context: context) }
    }

    /// What the stream's first bytes say about the token.
    enum TokenScan: Equatable {
        /// The OpusTags packet is not complete yet.
        case needMore
        /// The OpusTags packet, and the value of its `MOSHI_TOKEN` comment (nil: none).
        case tags(token: String?)
    }

    /// Finds the OpusTags packet in the first bytes of an Ogg stream (it follows the OpusHead
    /// page; encoders put it on one page of its own) and reads its `MOSHI_TOKEN=` comment
    /// (key without case, as Vorbis comments are): `ffmpeg -metadata moshi_token=SECRET` writes it.
    static func scanToken(_ bytes: [UInt8]) -> TokenScan {
        let magic = OpusTagsMagic.bytes
        guard bytes.count >= magic.count, let start = (0...(bytes.count - magic.count)).first(where: { i in
            bytes[i..<(i + magic.count)].elementsEqual(magic)
        }) else { return .needMore }
        var offset = start + magic.count
        func u32() -> Int? {
            guard offset + 4 <= bytes.count else { return nil }
            defer { offset += 4 }
            return Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
        }
        guard let vendorLength = u32() else { return .needMore }
        offset += vendorLength
        guard let count = u32() else { return .needMore }
        for _ in 0..<min(count, 1024) {
            guard let length = u32() else { return .needMore }
            guard offset + length <= bytes.count else { return .needMore }
            let comment = String(decoding: bytes[offset..<(offset + length)], as: UTF8.self)
            offset += length
            let key = "moshi_token="
            if comment.lowercased().hasPrefix(key) { return .tags(token: String(comment.dropFirst(key.count))) }
        }
        return .tags(token: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        statistics.received(buffer.readableBytes)
        guard opened else { lookForToken(buffer, context: context); return }
        context.fireChannelRead(wrapInboundOut(.audio(Array(buffer.readableBytesView))))
    }

    /// Holds the stream's first bytes until its OpusTags show the token (or the search gives
    /// up), then opens the session with it and sends the held bytes on.
    private func lookForToken(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        held += buffer.readableBytesView
        let scan = Self.scanToken(held)
        if scan == .needMore, held.count <= ConversationPipeline.oggSearchLimit { return }
        let token: String? = if case .tags(let token) = scan { token } else { nil }
        open(token: token, context: context)
        let bytes = held
        held = []
        context.fireChannelRead(wrapInboundOut(.audio(bytes)))
    }

    private func open(token: String?, context: ChannelHandlerContext) {
        opened = true
        let request = SessionRequest(options: SessionOptions(), credential: .presented(token, hint: Self.tokenHint), input: .ogg, output: .ogg)
        context.fireChannelRead(wrapInboundOut(.open(request)))
    }
}
