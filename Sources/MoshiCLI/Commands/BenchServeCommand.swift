import ArgumentParser
import Engine
import Foundation
import MoshiNumerics
import Server
import Settings
import Synchronization

/// `moshi bench serve`: how many conversations a server holds in real time. N simulated users
/// (Kyutai's protocol on /api/chat over loopback, each speaking in real time from threads of its
/// own) talk to an in-process `moshi serve` on the chosen model, or to a server already running
/// (`--connect`); each user's reply lag is measured where a person would feel it.
struct BenchServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Time N simultaneous real-time conversations against moshi serve (reply lag per session).",
        discussion: """
            Each simulated user sends the built-in speech sample (looped to --seconds) as one 80 ms \
            Opus packet per Ogg page in real time, as Kyutai's clients do, and decodes the reply as \
            it arrives. Reply lag of frame k: arrival of the reply's frame k minus the sending of the \
            user's frame k (network, queueing and compute included). A session holds real time when \
            it got a reply to at least 95 % of its frames less two (a conversation of N frames returns N - 2 replies in this test) and its largest lag is at most --bound-ms. \
            Without --connect a server runs in this process on the model options (default: \
            --synthetic) with max_sessions = N. With --processes and the counting allocator \
            preloaded (LD_PRELOAD of scripts/alloc_count, built as in Docs/PERFORMANCE.md), the \
            server's compute path (batch queue and pool threads) is checked too: the heap \
            allocations it makes between a fifth and four fifths of the run. Build with -c release.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Simultaneous conversations (a list such as 1,2,4 runs each in turn).")
    var sessions = "1"

    @Option(help: "Seconds each user speaks.")
    var seconds = 10.0

    @Option(name: .customLong("bound-ms"), help: "The reply lag a real-time session stays within (ms).")
    var boundMs = 500.0

    @Option(help: ArgumentHelp("A running server instead of an in-process one.", valueName: "host:port"))
    var connect: String?

    @Flag(name: .customLong("no-batch"), help: "In-process server: run each session on its own instead of in one lockstep batch (server.batch = false), for comparison.")
    var noBatch = false

    @Flag(help: "Run each simulated user in a process of its own (this command with --connect and --sessions 1), as separate clients are; the server still runs in this process unless --connect.")
    var processes = false

    @Flag(help: "One JSON object per line instead of the table.")
    var json = false

    var sessionCounts: [Int] { sessions.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        guard !sessionCounts.isEmpty, sessionCounts.allSatisfy({ (1...64).contains($0) }),
              sessionCounts.count == sessions.split(separator: ",").count else {
            throw ValidationError("--sessions takes counts 1...64, e.g. 4 or 1,2,4")
        }
        guard seconds >= 1, seconds <= 600 else { throw ValidationError("--seconds must be 1...600") }
        guard boundMs > 0 else { throw ValidationError("--bound-ms must be positive") }
        if let connect, Self.split(connect) == nil { throw ValidationError("--connect takes host:port") }
    }

    static func split(_ address: String) -> (String, Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (1...65535).contains(port) else { return nil }
        return (String(address[..<colon]), port)
    }

    func run() throws {
        let settings = try global.loadSettings()
        let status = { (line: String) in FileHandle.standardError.write(Data((line + "\n").utf8)) }
        let speech = try BuiltInSpeechSample.samples()
        var loaded: LoadedModel?
        if connect == nil {
            var options = modelOptions
            let namesWeights = options.lm != nil || options.mimi != nil || options.modelDir != nil || options.hfRepo != nil || options.random
            if !namesWeights { options.synthetic = true }
            loaded = try LoadedModel(options: options, settings: settings, progress: status)
        }
        var rows: [String] = []
        for count in sessionCounts {
            let (host, port, server) = try target(count: count, model: loaded)
            status("\(count) simulated user(s), \(seconds) s each, against \(host):\(port) ...")
            // With the counting allocator preloaded and the clients in processes of their own,
            // count what the server's compute path allocates over the steady part of the run.
            let allocations = ServerThreadAllocations()
            if processes, allocations.isAvailable, let server {
                allocations.watch(server, expectedFrames: Int(Double(count) * seconds * 12.5))
            }
            let results = processes ? try runInProcesses(count: count, host: host, port: port)
                                    : runInThreads(count: count, host: host, port: port, speech: speech)
            let serverNote = server.map {
                let s = $0.statistics.snapshot
                return "server (\($0.isBatching ? "batched" : "unbatched")): \(s.frames) frames, \(s.lateFrames) late, "
                    + "\(s.droppedInputFrames) input frames dropped, \(s.concealedFrames) concealed, \(s.droppedAudioMessages) audio messages dropped"
            }
            let allocationNote = processes && server != nil ? allocations.report(timeout: 5) : nil
            server?.shutdown()
            let notes = [serverNote, allocationNote].compactMap { $0 }
            rows += report(count: count, results: results, serverNote: notes.isEmpty ? nil : notes.joined(separator: "; "))
        }
        print(rows.joined(separator: "\n"))
    }

    /// `count` users on threads of this process, arriving 20 ms apart (not in one burst).
    private func runInThreads(count: Int, host: String, port: Int, speech: [Float]) -> [SimulatedUser.Result] {
        let users = (0..<count).map { _ in SimulatedUser(host: host, port: port, audio: speech, seconds: seconds) }
        let results = Mutex<[SimulatedUser.Result?]>(Array(repeating: nil, count: count))
        let group = DispatchGroup()
        for (i, user) in users.enumerated() {
            group.enter()
            let thread = Thread {
                let result = user.run()
                results.withLock { $0[i] = result }
                group.leave()
            }
            thread.name = "bench-user-\(i)"
            thread.start()
            usleep(20_000)
        }
        group.wait()
        return results.withLock { $0.compactMap { $0 } }
    }

    /// `count` users, each a child process of this executable (`bench serve --connect ...
    /// --sessions 1 --json`), 20 ms apart; their JSON lines read back into results.
    private func runInProcesses(count: Int, host: String, port: Int) throws -> [SimulatedUser.Result] {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var children: [(Process, Pipe)] = []
        for _ in 0..<count {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: executable)
            child.arguments = ["bench", "serve", "--connect", "\(host):\(port)", "--sessions", "1", "--seconds", "\(seconds)",
                               "--bound-ms", "\(boundMs)", "--json"]
            let out = Pipe()
            child.standardOutput = out
            child.standardError = FileHandle.nullDevice
            try child.run()
            children.append((child, out))
            usleep(20_000)
        }
        return children.map { child, out in
            let data = out.fileHandleForReading.readDataToEndOfFile()
            child.waitUntilExit()
            guard let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
                  let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                var failed = SimulatedUser.Result()
                failed.error = "client process exited with status \(child.terminationStatus) and no result"
                return failed
            }
            var result = SimulatedUser.Result()
            result.framesSent = object["frames_sent"] as? Int ?? 0
            result.framesReplied = object["frames_replied"] as? Int ?? 0
            result.textMessages = object["text_messages"] as? Int ?? 0
            result.lagsMs = (object["lags_ms"] as? [Double]) ?? []
            result.error = object["error"] as? String
            return result
        }
    }

    /// Where the users connect: the running server, or a fresh in-process one for `count` sessions.
    private func target(count: Int, model: LoadedModel?) throws -> (String, Int, MoshiServer?) {
        if let connect, let (host, port) = Self.split(connect) { return (host, port, nil) }
        guard let model else { throw ValidationError("no model loaded") }
        let factory = SessionFactory(model: model)
        _ = try factory.warmUp(frames: 3)
        var config = ServerConfiguration()
        config.host = "127.0.0.1"
        config.port = 0
        config.maximumSessions = count
        config.computeQueues = model.pool == nil ? min(count, ThreadPool.availableCPUs) : 1
        config.batching = !noBatch
        let server = try MoshiServer(configuration: config, factory: factory)
        server.warmUpBatch(frames: 3)
        return ("127.0.0.1", server.port, server)
    }

    private func report(count: Int, results: [SimulatedUser.Result], serverNote: String?) -> [String] {
        func ms(_ v: Double) -> String { v.isNaN ? "-" : String(format: "%.0f", v) }
        var lines: [String] = []
        var holding = 0
        for (i, r) in results.enumerated() {
            let holds = r.error == nil && r.framesSent > 0 && Double(r.framesReplied) >= 0.95 * Double(r.framesSent - 2) && r.maxLag <= boundMs
            if holds { holding += 1 }
            if json {
                lines.append(#"{"sessions":\#(count),"session":\#(i),"frames_sent":\#(r.framesSent),"frames_replied":\#(r.framesReplied),"#
                             + #""lag_p50_ms":\#(ms(r.percentile(0.5)).replacingOccurrences(of: "-", with: "null")),"#
                             + #""lag_p90_ms":\#(ms(r.percentile(0.9)).replacingOccurrences(of: "-", with: "null")),"#
                             + #""lag_max_ms":\#(ms(r.maxLag).replacingOccurrences(of: "-", with: "null")),"holds_real_time":\#(holds),"#
                             + #""text_messages":\#(r.textMessages),"lags_ms":[\#(r.lagsMs.map { String(format: "%.1f", $0) }.joined(separator: ","))]"#
                             + (r.error.map { #","error":"\#($0.replacingOccurrences(of: "\"", with: "'"))""# } ?? "") + "}")
            } else {
                lines.append("  session \(i): \(r.framesReplied)/\(r.framesSent) frames replied, reply lag p50 \(ms(r.percentile(0.5))) ms, "
                             + "p90 \(ms(r.percentile(0.9))) ms, max \(ms(r.maxLag)) ms\(holds ? "" : "  NOT REAL TIME")\(r.error.map { " (\($0))" } ?? "")")
            }
        }
        if !json {
            lines.insert("\(count) session(s): \(holding) of \(count) held real time (reply lag <= \(Int(boundMs)) ms)"
                         + (serverNote.map { "; \($0)" } ?? ""), at: 0)
        }
        return lines
    }
}
