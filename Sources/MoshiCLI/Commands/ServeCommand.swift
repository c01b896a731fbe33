import ArgumentParser
import Dispatch
import Engine
import Foundation
import Logging
import MoshiNumerics
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

    @Flag(name: .customLong("no-batch"), help: "Run each session on its own instead of in one lockstep batch (server.batch = false).")
    var noBatch = false

    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp("Seconds of silence from a client before it is closed; 0 disables (server.idle_timeout_s).", valueName: "seconds"))
    var idleTimeout: Double?

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("PEM certificate chain for TLS on the same port (server.tls_cert); needs --tls-key.", valueName: "file"))
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key of --tls-cert (server.tls_key).", valueName: "file"))
    var tlsKey: String?

    @Option(name: .customLong("auth-token"), help: ArgumentHelp("A token every client must present (server.auth_token; also $MOSHI_AUTH_TOKEN); needed to listen beyond loopback.", valueName: "token"))
    var authToken: String?

    @Option(name: .customLong("allowed-origins"), help: ArgumentHelp("Browser origins allowed on /api/chat besides the page's host and localhost: comma-separated scheme://host[:port], or * (server.allowed_origins).", valueName: "origins"))
    var allowedOrigins: String?

    @Flag(name: .customLong("insecure-no-auth"), help: "Listen on a non-loopback address without a token (server.insecure_no_auth): only on a trusted network.")
    var insecureNoAuth = false

    @Flag(name: .customLong("tls-self-signed"), help: "Make a self-signed certificate at start (for this host's names and addresses) and print its SHA-256 fingerprint: https:// and wss:// without a certificate of your own.")
    var tlsSelfSigned = false

    /// Each flag is checked by its configuration key's own rule, so `--idle-timeout inf` is
    /// refused here as `idle_timeout_s = inf` is in the file.
    func validate() throws {
        func check<V>(_ flag: String, _ value: V?, _ key: SettingKey<V>) throws {
            if let value, let problem = key.problem(with: value) { throw ValidationError("--\(flag) \(value): \(problem) (\(key.path))") }
        }
        try check("host", host, SettingsCatalog.serverHost)
        try check("port", port, SettingsCatalog.serverPort)
        try check("max-sessions", maxSessions, SettingsCatalog.serverMaxSessions)
        try check("idle-timeout", idleTimeout, SettingsCatalog.serverIdleTimeout)
        if tlsSelfSigned && (tlsCertificate != nil || tlsKey != nil) { throw ValidationError("--tls-self-signed makes its own certificate: leave out --tls-cert and --tls-key") }
        if (tlsCertificate == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    /// The TLS identity asked for (flags, then server.tls_cert / server.tls_key), or nil.
    func tlsIdentity(_ settings: Settings, host: String, logger: Logger) throws -> TLSIdentity? {
        if tlsSelfSigned {
            var names = ["localhost", "127.0.0.1"]
            var buffer = [CChar](repeating: 0, count: 256)
            if gethostname(&buffer, buffer.count) == 0 {
                let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !name.isEmpty, !names.contains(name) { names.append(name) }
            }
            if host != "0.0.0.0", host != "::", !names.contains(host) { names.append(host) }
            let identity = try TLSIdentity.selfSigned(names: names)
            logger.notice("TLS: self-signed certificate for \(names.joined(separator: ", ")), SHA-256 fingerprint \(identity.fingerprintSHA256)")
            FileHandle.standardOutput.write(Data("moshi serve: self-signed certificate, SHA-256 fingerprint \(identity.fingerprintSHA256)\n".utf8))
            return identity
        }
        let certificate = tlsCertificate ?? settings[SettingsCatalog.serverTLSCertificate]
        let key = tlsKey ?? settings[SettingsCatalog.serverTLSKey]
        if certificate.isEmpty && key.isEmpty { return nil }
        guard !certificate.isEmpty, !key.isEmpty else { throw ValidationError("TLS needs both server.tls_cert and server.tls_key") }
        do {
            let identity = try TLSIdentity.load(certificatePath: certificate, keyPath: key)
            logger.notice("TLS: \(certificate), SHA-256 fingerprint \(identity.fingerprintSHA256)")
            return identity
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let settings = try global.loadSettings()
        let logger = Logger(label: "moshi.serve")
        // TLS first: a bad certificate path fails before gigabytes of weights are loaded.
        let tls = try tlsIdentity(settings, host: host ?? settings[SettingsCatalog.serverHost], logger: logger)
        // Access next, for the same reason: an exposed server without a token never loads.
        let access = accessPolicy(settings)
        var exposure = ServerConfiguration()
        exposure.host = host ?? settings[SettingsCatalog.serverHost]
        exposure.access = access
        exposure.allowsUnauthenticatedNetwork = insecureNoAuth || settings[SettingsCatalog.serverInsecureNoAuth]
        if let problem = exposure.exposureError { throw ValidationError(problem.description) }
        if exposure.allowsUnauthenticatedNetwork, !AccessPolicy.isLoopback(host: exposure.host), !access.requiresToken {
            logger.warning("listening on \(exposure.host) without a token (--insecure-no-auth): anyone who reaches the port can talk to the model")
        }
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
            let endpoint = HealthServer(configuration: .init(host: settings[SettingsCatalog.serverMetricsHost], port: metricsPort),
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
        // Loading a large model can take longer than TimeoutStartSec: ask systemd for more time
        // every 10 s until ready (EXTEND_TIMEOUT_USEC, 30 s each).
        let extender = notifier.isEnabled ? DispatchSource.makeTimerSource(queue: DispatchQueue(label: "moshi.extend-timeout")) : nil
        extender?.schedule(deadline: .now(), repeating: .seconds(10))
        extender?.setEventHandler { _ = try? notifier.extendTimeout(microseconds: 30_000_000) }
        extender?.activate()
        let loadStart = MonotonicTime.nanoseconds()
        let model = try LoadedModel(options: modelOptions, settings: settings) { logger.info("\($0)") }
        let factory = SessionFactory(model: model)
        let loaded = MonotonicTime.nanoseconds()
        if settings[SettingsCatalog.serverLockWeights] {
            // Every mapping the process has now (the weights above all) stays in RAM.
            guard mlockall(MCL_CURRENT) == 0 else {
                let reason = String(cString: strerror(errno))
                throw ValidationError("server.lock_weights: mlockall failed: \(reason); raise the limit (LimitMEMLOCK=infinity in the unit, or ulimit -l unlimited) or set server.lock_weights = false")
            }
        }
        let warmupFrames = settings[SettingsCatalog.serverWarmupFrames]
        try factory.warmUp(frames: warmupFrames)
        let warmed = MonotonicTime.nanoseconds()
        extender?.cancel()
        let timing = "loaded in \(Self.seconds(loaded - loadStart)), warmed up (\(warmupFrames) silent frame(s)) in \(Self.seconds(warmed - loaded))"
        FileHandle.standardOutput.write(Data("moshi serve: \(timing)\n".utf8))

        var config = ServerConfiguration()
        config.host = host ?? settings[SettingsCatalog.serverHost]
        config.port = port ?? settings[SettingsCatalog.serverPort]
        config.maximumSessions = maxSessions ?? settings[SettingsCatalog.serverMaxSessions]
        config.idleTimeoutSeconds = idleTimeout ?? settings[SettingsCatalog.serverIdleTimeout]
        config.tls = tls
        config.access = access
        config.allowsUnauthenticatedNetwork = exposure.allowsUnauthenticatedNetwork
        config.batching = !noBatch && settings[SettingsCatalog.serverBatch]
        config.latePolicy = LatePolicy(parsing: settings[SettingsCatalog.latePolicy]) ?? .default
        // Unbatched sessions sharing one thread pool take turns on one compute queue; without a
        // pool each CPU can run a session's frame.
        config.computeQueues = model.pool == nil ? min(config.maximumSessions, ThreadPool.availableCPUs) : 1

        let server: MoshiServer
        do { server = try MoshiServer(configuration: config, factory: factory, metrics: metrics, logger: logger) } catch {
            throw ValidationError("cannot listen on \(config.host):\(config.port): \(error)")
        }
        if server.isBatching {
            let start = MonotonicTime.nanoseconds()
            server.warmUpBatch(frames: warmupFrames)
            logger.info("sessions run in one lockstep batch of up to \(config.maximumSessions); batch warmed up in \(Self.seconds(MonotonicTime.nanoseconds() - start))")
        }
        running.server.withLock { $0 = server }
        FileHandle.standardOutput.write(Data("moshi serve: listening on \(config.host):\(server.port) (max \(config.maximumSessions) session(s)\(tls == nil ? "" : "; TLS too: https://\(config.host):\(server.port)/"))\n".utf8))
        _ = daemon.transition(to: .ready)
        _ = try? notifier.ready(status: "listening on \(config.host):\(server.port)")
        // The watchdog pings while the event loops and compute queues answer its probes, whatever
        // the clients do (a silent client makes no frames and must not look like a hang).
        let watchdog = SystemdWatchdog(server: server, notifier: notifier, environment: ProcessInfo.processInfo.environment)
        watchdog?.start()

        done.wait()
        watchdog?.stop()
        if let health { Task { await health.stop() } }
        let stats = server.statistics.snapshot
        logger.info("stopped: \(stats.sessionsOpened) session(s), \(stats.frames) frame(s) (\(stats.lateFrames) late, \(stats.droppedInputFrames) input frame(s) dropped by the late policy), \(stats.sessionsRejected) rejected, \(stats.droppedAudioMessages) audio message(s) dropped; per frame: model \(String(format: "%.2f", stats.frames == 0 ? 0 : Double(stats.computeNanoseconds) / Double(stats.frames) / 1e6)) ms, network path (Opus decode/encode, framing) \(String(format: "%.3f", stats.codecMillisecondsPerFrame)) ms")
    }
}

extension ServeCommand {
    /// The token (flag, then server.auth_token, then $MOSHI_AUTH_TOKEN) and the allowed origins.
    func accessPolicy(_ settings: Settings) -> AccessPolicy {
        let environment = ProcessInfo.processInfo.environment["MOSHI_AUTH_TOKEN"] ?? ""
        let configured = settings[SettingsCatalog.serverAuthToken]
        let token = authToken ?? (configured.isEmpty ? environment : configured)
        let origins = (allowedOrigins ?? settings[SettingsCatalog.serverAllowedOrigins])
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return AccessPolicy(authToken: token.isEmpty ? nil : token, allowedOrigins: origins)
    }

    static func seconds(_ nanoseconds: UInt64) -> String { String(format: "%.2f s", Double(nanoseconds) / 1e9) }
}

/// The server once it runs, for the signal handlers.
private final class RunningServer: Sendable {
    let server = Mutex<MoshiServer?>(nil)
}
