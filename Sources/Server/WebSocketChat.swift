import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Kyutai's WebSocket protocol on `GET /api/chat` (moshi's `server.py` / `moshi-backend`):
/// binary messages whose first byte is the kind. The server sends the handshake `0x00` (with
/// Kyutai's 8 zero bytes of protocol and model version) once the conversation is ready, then
/// `0x01` + Ogg Opus pages (24 kHz mono) and `0x02` + UTF-8 text; the client sends `0x01` +
/// Ogg Opus pages. Sampling options come from the query (`text_temperature`, `audio_temperature`,
/// `text_topk`, `audio_topk`, `audio_seed`). Past the upgrade a connection is a
/// `WebSocketSessionDecoder`, a `WebSocketSessionEncoder` and a `SessionHandler`.
enum WebSocketChat {
    /// The path Kyutai's clients connect to.
    static let path = "/api/chat"

    /// Turns the pipeline of a connection that starts with "GET " into an HTTP server that
    /// upgrades `/api/chat` to a WebSocket and answers anything else with the browser page
    /// (`WebPageHandler`): its files, or 404.
    static func configureHTTP(pipeline: ChannelPipeline, server: ServerContext) throws {
        let maximum = server.configuration.maximumMessageBytes
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: maximum,
            shouldUpgrade: { channel, head in
                let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
                guard path == Self.path else { return channel.eventLoop.makeSucceededFuture(nil) }
                // A refused upgrade goes on as a plain request: WebPageHandler answers it 403 or 401.
                if let refusal = server.configuration.access.refusal(of: head) {
                    server.statistics.sessionRejected(.unauthorized)
                    server.logger.notice("refused \(Self.path) from \(channel.remoteAddress?.description ?? "?"): \(refusal.reason)")
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
            },
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    let notFound = try channel.pipeline.syncOperations.context(handlerType: WebPageHandler.self)
                    channel.pipeline.syncOperations.removeHandler(context: notFound, promise: nil)
                    try channel.pipeline.syncOperations.addHandler(
                        NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 64, maxAccumulatedFrameSize: maximum))
                    try channel.pipeline.syncOperations.addSession(
                        decoder: WebSocketSessionDecoder(uri: head.uri, statistics: server.statistics),
                        encoder: WebSocketSessionEncoder(statistics: server.statistics), server: server, protocolName: "WebSocket")
                }
            })
        try pipeline.syncOperations.configureHTTPServerPipeline(
            withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
        try pipeline.syncOperations.addHandler(WebPageHandler(access: server.configuration.access))
    }

    /// The query parameters of `uri` (no percent-decoding beyond what numbers need).
    static func query(of uri: String) -> [String: String] {
        guard let q = uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return [:] }
        var result: [String: String] = [:]
        for pair in q.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
        }
        return result
    }
}
