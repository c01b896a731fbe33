/// What the health server answers, as a pure function of the request line, so the routing can be
/// tested without a socket.
package struct HealthResponse: Sendable, Equatable {
    /// HTTP status code.
    package var status: Int
    /// HTTP reason phrase.
    package var reason: String
    /// `Content-Type` of the body.
    package var contentType: String
    /// Extra headers (e.g. `Allow`).
    package var headers: [(String, String)]
    /// The body bytes (empty for HEAD requests when sent).
    package var body: [UInt8]

    package init(status: Int, reason: String, contentType: String, headers: [(String, String)] = [], body: [UInt8]) {
        self.status = status
        self.reason = reason
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    package static func == (lhs: HealthResponse, rhs: HealthResponse) -> Bool {
        lhs.status == rhs.status && lhs.reason == rhs.reason && lhs.contentType == rhs.contentType
            && lhs.body == rhs.body && lhs.headers.map { "\($0.0): \($0.1)" } == rhs.headers.map { "\($0.0): \($0.1)" }
    }
}

/// The routes of the health port: `GET /healthz`, `GET /metrics`, 404 otherwise.
package struct HealthRoutes: Sendable {
    package let metrics: ServerMetrics
    package let status: DaemonStatus
    /// `max_sessions`, reported in the health JSON when known.
    package let maxSessions: Int?

    package init(metrics: ServerMetrics, status: DaemonStatus, maxSessions: Int? = nil) {
        self.metrics = metrics
        self.status = status
        self.maxSessions = maxSessions
    }

    /// The answer to `method uri`. Query strings are ignored; `HEAD` is answered like `GET`
    /// (the caller leaves the body out).
    package func respond(method: String, uri: String) -> HealthResponse {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        guard path == "/healthz" || path == "/metrics" else {
            return HealthResponse(status: 404, reason: "Not Found", contentType: "text/plain; charset=utf-8",
                                  body: Array("not found: try /healthz or /metrics\n".utf8))
        }
        guard method == "GET" || method == "HEAD" else {
            return HealthResponse(status: 405, reason: "Method Not Allowed", contentType: "text/plain; charset=utf-8",
                                  headers: [("Allow", "GET, HEAD")], body: Array("method not allowed\n".utf8))
        }
        if path == "/metrics" {
            return HealthResponse(status: 200, reason: "OK", contentType: PrometheusText.contentType, body: metrics.exposition())
        }
        return health()
    }

    /// `/healthz`: 200 with `"status":"ok"` when ready, 503 while loading or draining.
    package func health() -> HealthResponse {
        let state = status.state
        let ready = state == .ready
        var json = "{\"status\":\"\(ready ? "ok" : "unavailable")\",\"state\":\"\(state)\",\"sessions\":\(metrics.openSessions)"
        if let maxSessions { json += ",\"max_sessions\":\(maxSessions)" }
        json += ",\"uptime_seconds\":\(PrometheusText.formatSeconds(nanoseconds: UInt64(max(0, status.uptimeSeconds) * 1000) * 1_000_000))}\n"
        return HealthResponse(status: ready ? 200 : 503, reason: ready ? "OK" : "Service Unavailable",
                              contentType: "application/json", body: Array(json.utf8))
    }
}
