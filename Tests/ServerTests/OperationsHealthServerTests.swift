@testable import Server
import Testing

@Suite("Operations: health server")
struct OperationsHealthServerTests {
    private func makeServer(state: DaemonState = .loading) -> (HealthServer, ServerMetrics, DaemonStatus) {
        let metrics = ServerMetrics()
        let status = DaemonStatus(initialState: state)
        var configuration = HealthServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.maxRequestBytes = 4_096
        let server = HealthServer(configuration: configuration, routes: HealthRoutes(metrics: metrics, status: status, maxSessions: 4))
        return (server, metrics, status)
    }

    @Test func healthzIs503WhileLoadingAnd200WhenReady() async throws {
        let (server, metrics, status) = makeServer()
        let port = try await server.start()
        defer { Task { await server.stop() } }
        #expect(port > 0)

        let loading = try httpGet(port: port, path: "/healthz")
        #expect(loading.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(loading.contains("Content-Type: application/json"))
        #expect(loading.contains(#"{"status":"unavailable","state":"loading","sessions":0,"max_sessions":4,"uptime_seconds":"#))

        status.transition(to: .ready)
        metrics.sessionOpened()
        let ready = try httpGet(port: port, path: "/healthz?verbose=1")
        #expect(ready.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(ready.contains(#"{"status":"ok","state":"ready","sessions":1,"max_sessions":4,"#))

        status.transition(to: .draining)
        status.transition(to: .ready)  // draining is final
        let draining = try httpGet(port: port, path: "/healthz")
        #expect(draining.hasPrefix("HTTP/1.1 503 "))
        #expect(draining.contains(#""state":"draining""#))
    }

    @Test func metricsAreServedInPrometheusFormat() async throws {
        let (server, metrics, _) = makeServer(state: .ready)
        let port = try await server.start()
        defer { Task { await server.stop() } }
        metrics.sessionRejected(.busy)
        metrics.networkOut.record(nanoseconds: 3_000_000)
        let response = try httpGet(port: port, path: "/metrics")
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        #expect(response.contains("\nmoshi_sessions_rejected_total{reason=\"busy\"} 1\n"))
        #expect(response.contains("\nmoshi_stage_latency_seconds_sum{stage=\"network_out\"} 0.003\n"))
        let head = try httpGet(port: port, path: "/metrics", method: "HEAD")
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(head.hasSuffix("\r\n\r\n"))  // headers only
    }

    @Test func unknownPathsMethodsAndOversizedRequestsAreRefused() async throws {
        let (server, _, _) = makeServer(state: .ready)
        let port = try await server.start()
        defer { Task { await server.stop() } }
        #expect(try httpGet(port: port, path: "/").hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(try httpGet(port: port, path: "/api/chat").hasPrefix("HTTP/1.1 404 "))
        let post = try httpGet(port: port, path: "/healthz", method: "POST")
        #expect(post.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
        #expect(post.contains("Allow: GET, HEAD\r\n"))

        let hugeHeader = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: \(String(repeating: "a", count: 20_000))\r\n\r\n"
        let oversized = try rawHTTPExchange(port: port, request: Array(hugeHeader.utf8))
        #expect(oversized.hasPrefix("HTTP/1.1 413 "))

        let start = ContinuousClock.now
        let garbage = try rawHTTPExchange(port: port, request: Array("\u{1}\u{2}not http at all\r\n\r\n".utf8))
        #expect(garbage.hasPrefix("HTTP/1.1 400 "))
        #expect(ContinuousClock.now - start < .seconds(2), "the server closes after a 400")

        // The server is still fine afterwards, and connections were released.
        #expect(try httpGet(port: port, path: "/healthz").hasPrefix("HTTP/1.1 200 OK\r\n"))
        let released = await waitUntil { server.connectionCount == 0 }
        #expect(released)
    }

    @Test func aTakenPortIsAClearError() async throws {
        let (first, _, _) = makeServer()
        let port = try await first.start()
        defer { Task { await first.stop() } }
        let second = HealthServer(configuration: .init(host: "127.0.0.1", port: port),
                                  routes: HealthRoutes(metrics: ServerMetrics(), status: DaemonStatus()))
        await #expect(throws: HealthServer.StartError.self) { try await second.start() }
        do {
            try await second.start()
        } catch {
            #expect("\(error)".contains("cannot listen on 127.0.0.1:\(port)"))
        }
    }

    @Test func routesAnswerWithoutASocket() {
        let routes = HealthRoutes(metrics: ServerMetrics(), status: DaemonStatus(initialState: .ready))
        let health = routes.respond(method: "GET", uri: "/healthz")
        #expect(health.status == 200)
        #expect(routes.respond(method: "GET", uri: "/metricsx").status == 404)
        #expect(routes.respond(method: "DELETE", uri: "/metrics").status == 405)
    }
}
