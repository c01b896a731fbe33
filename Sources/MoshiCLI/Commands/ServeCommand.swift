import ArgumentParser
import Dispatch
import Foundation
import Logging
import Numerics
import Server
import Settings
import Synchronization

/// `moshi serve`: the daemon. One TCP port speaks three protocols (Docs/PROTOCOL.md): the
/// framed protocol of `moshi client`, a bare Ogg Opus stream, and Kyutai's WebSocket protocol on
/// /api/chat. Each connection is a conversation; the weights are loaded once and shared.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve conversations over TCP: framed protocol, plain Ogg Opus, or Kyutai's WebSocket /api/chat.",
        discussion: """
            Listens on 127.0.0.1:8998 unless told otherwise (server.host, server.port). Try it \
            without weights: moshi serve --synthetic, then moshi client 127.0.0.1:8998 --input talk.wav \
            --output reply.wav, or: ffmpeg -re -i talk.wav -c:a libopus -f ogg - | socat - TCP:127.0.0.1:8998 > reply.ogg. \
            SIGTERM or SIGINT drains: every session finishes its frame, ends its stream and closes; exit status 0.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(help: ArgumentHelp("Address to listen on (server.host).", valueName: "address"))
    var host: String?

    @Option(help: ArgumentHelp("TCP port (server.port); 0 picks a free one.", valueName: "port"))
    var port: Int?

    @Option(name: .customLong("max-sessions"), help: ArgumentHelp("Conversations at once (server.max_sessions).", valueName: "n"))
    var maxSessions: Int?

    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp("Seconds of silence from a client before it is closed; 0 disables (server.idle_timeout_s).", valueName: "seconds"))
    var idleTimeout: Double?

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be 0...65535") }
        if let maxSessions, !(1...1024).contains(maxSessions) { throw ValidationError("--max-sessions must be 1...1024") }
        if let idleTimeout, !(idleTimeout >= 0) { throw ValidationError("--idle-timeout must be >= 0") }
    }

    func run() throws {
        let settings = try global.loadSettings()
        let logger = Logger(label: "moshi.serve")
        // Signals are handled from the start (SignalWatcher). During loading SIGTERM or SIGINT
        // ends the process (status 0); once the server runs it drains it; a second one exits at once.
        let running = RunningServer()
        let done = DispatchSemaphore(value: 0)
        let daemon = DaemonStatus(initialState: .loading)
        let notifier = SystemdNotifier()
        let metrics = ServerMetrics()
        let configPath = global.config
        let signals = try SignalWatcher([SIGTERM, SIGINT, SIGHUP]) { number in
            if number == SIGHUP {
                // Nothing is reopened (logs go to stderr, the journal's); the config file is
                // read again to check it and to report what a restart would change.
                do {
                    let fresh = try SettingsLoader.load(configPath: configPath, environment: ProcessInfo.processInfo.environment)
                    logger.notice("SIGHUP: configuration re-read and valid (log level \(fresh[SettingsCatalog.logLevel]), max_sessions \(fresh[SettingsCatalog.serverMaxSessions])); changes take effect at restart")
                } catch {
                    logger.error("SIGHUP: the configuration no longer loads: \(error); still running with the old one")
                }
                return
            }
            _ = daemon.transition(to: .draining)
            _ = try? notifier.stopping(status: "draining")
            guard let server = running.server.withLock({ $0 }) else {
                logger.info("signal \(number) while loading: exiting")
                Foundation.exit(0)
            }
            logger.info("signal \(number): draining \(server.activeSessions) session(s)")
            server.shutdown()
            done.signal()
        }
        defer { signals.cancel() }
        // /healthz (503 while loading) and /metrics, up before the model so a supervisor sees progress.
        let metricsPort = settings[SettingsCatalog.serverMetricsPort]
        var health: HealthServer?
        if metricsPort > 0 {
            let endpoint = HealthServer(configuration: .init(host: host ?? settings[SettingsCatalog.serverHost], port: metricsPort),
                                        routes: HealthRoutes(metrics: metrics, status: daemon, maxSessions: maxSessions ?? settings[SettingsCatalog.serverMaxSessions]))
            let bound = Mutex<Result<Int, any Error>?>(nil)
            let started = DispatchSemaphore(value: 0)
            Task {
                do {
                    let port = try await endpoint.start()
                    bound.withLock { $0 = .success(port) }
                } catch {
                    bound.withLock { $0 = .failure(error) }
                }
                started.signal()
            }
            started.wait()
            if case .failure(let error) = bound.withLock({ $0 }) { throw ValidationError("metrics endpoint: \(error)") }
            logger.info("health and metrics on http://\(endpoint.configuration.host):\(endpoint.port ?? metricsPort)/healthz and /metrics")
            health = endpoint
        }
        let model = modelOptions.resolved(settings)
        let pool = model.threadCount > 1 ? ThreadPool(threads: model.threadCount) : nil
        let factory = try SessionFactory(loader: ModelLoader(options: model, settings: settings), pool: pool) { logger.info("\($0)") }

        var config = ServerConfiguration()
        config.host = host ?? settings[SettingsCatalog.serverHost]
        config.port = port ?? settings[SettingsCatalog.serverPort]
        config.maximumSessions = maxSessions ?? settings[SettingsCatalog.serverMaxSessions]
        config.idleTimeoutSeconds = idleTimeout ?? settings[SettingsCatalog.serverIdleTimeout]
        // Sessions sharing one thread pool take turns on one compute queue; without a pool each
        // CPU can run a session's frame.
        config.computeQueues = pool == nil ? min(config.maximumSessions, ThreadPool.availableCPUs) : 1

        let server: MoshiServer
        do { server = try MoshiServer(configuration: config, factory: factory, metrics: metrics, logger: logger) } catch {
            throw ValidationError("cannot listen on \(config.host):\(config.port): \(error)")
        }
        running.server.withLock { $0 = server }
        FileHandle.standardOutput.write(Data("moshi serve: listening on \(config.host):\(server.port) (max \(config.maximumSessions) session(s))\n".utf8))
        _ = daemon.transition(to: .ready)
        _ = try? notifier.ready(status: "listening on \(config.host):\(server.port)")
        // The watchdog pings while the server is alive: idle, or frames still moving.
        let framesSeen = Atomic<Int>(0)
        let watchdog = SystemdWatchdog(notifier: notifier, environment: ProcessInfo.processInfo.environment) {
            let now = server.statistics.snapshot
            let before = framesSeen.exchange(now.frames, ordering: .relaxed)
            return now.sessionsActive == 0 || now.frames != before
        }
        watchdog?.start()

        done.wait()
        watchdog?.stop()
        if let health { Task { await health.stop() } }
        let stats = server.statistics.snapshot
        logger.info("stopped: \(stats.sessionsOpened) session(s), \(stats.frames) frame(s), \(stats.sessionsRejected) rejected, \(stats.droppedAudioMessages) audio message(s) dropped; per frame: model \(String(format: "%.2f", stats.frames == 0 ? 0 : Double(stats.computeNanoseconds) / Double(stats.frames) / 1e6)) ms, network path (Opus decode/encode, framing) \(String(format: "%.3f", stats.codecMillisecondsPerFrame)) ms")
    }
}

/// The server once it runs, for the signal handlers.
private final class RunningServer: Sendable {
    let server = Mutex<MoshiServer?>(nil)
}
