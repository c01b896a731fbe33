import ArgumentParser
import Dispatch
import Foundation
import Logging
import Numerics
import Server
import Settings

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
        do { server = try MoshiServer(configuration: config, factory: factory, logger: logger) } catch {
            throw ValidationError("cannot listen on \(config.host):\(config.port): \(error)")
        }
        FileHandle.standardOutput.write(Data("moshi serve: listening on \(config.host):\(server.port) (max \(config.maximumSessions) session(s))\n".utf8))

        let done = DispatchSemaphore(value: 0)
        let signals = [SIGTERM, SIGINT].map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                logger.info("signal \(number): draining \(server.activeSessions) session(s)")
                server.shutdown()
                done.signal()
            }
            source.resume()
            return source
        }
        done.wait()
        signals.forEach { $0.cancel() }
        let stats = server.statistics.snapshot
        logger.info("stopped: \(stats.sessionsOpened) session(s), \(stats.frames) frame(s), \(stats.sessionsRejected) rejected, \(stats.droppedAudioMessages) audio message(s) dropped")
    }
}
